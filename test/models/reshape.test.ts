/**
 * The reinitializer's config edit within a family: per-layer lists (attention_types,
 * layer_types, no_rope_layers), width-tied sizes (word_embed_proj_dim) and per-frequency lists
 * (longrope factors) follow the new depth and width, so every reshaped config builds and means
 * what its user expects. transformers' reading of the same configs is checked in
 * reshape-hf.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { buildDecoderGraph } from '../../src/models/architecture.js';
import { reshapeConfig, type ConfigOverrides } from '../../src/models/config-edit.js';
import { resolveArchitecture } from '../../src/models/index.js';
import { continuePattern, resizeLayerList } from '../../src/models/layer-types.js';
import { inverseFrequencies, resampleRopeFactors } from '../../src/models/rope.js';
import { Random } from '../../src/core/random.js';
import { TINY_CONFIGS } from './tiny.js';

const S = 'sliding_attention';
const F = 'full_attention';
/** A reshaped config's normalised form (any family's fields). */
const read = (raw: Record<string, unknown>, o: ConfigOverrides) => resolveArchitecture(reshapeConfig(raw, o)).cfg as unknown as Record<string, unknown>;

describe('per-layer lists at another depth', () => {
  it('a list continues its shortest repeating unit, or is cut', () => {
    expect(continuePattern([S, F, S], 6)).toEqual([S, F, S, F, S, F]);
    expect(continuePattern([S, S, F, S, S], 2)).toEqual([S, S]);
    expect(continuePattern([F, F, S, S], 6)).toEqual([F, F, S, S, F, F]);
  });

  it('a list its config class derived is derived again; one of the user\'s own keeps its pattern', () => {
    const derive = (n: number) => Array.from({ length: n }, (_, i) => (i >= 2 ? S : F));
    expect(resizeLayerList([F, F, S, S], 4, 6, derive)).toEqual([F, F, S, S, S, S]);
    expect(resizeLayerList([F, S, F, S], 4, 6, derive)).toEqual([F, S, F, S, F, S]);
  });
});

describe('reshaping a family keeps what its config means', () => {
  for (const [label, raw] of Object.entries(TINY_CONFIGS)) {
    it(`${label}: 1 and 5 layers, twice the width, other heads — each normalises and builds`, () => {
      const cur = resolveArchitecture(raw).cfg;
      const overrides: ConfigOverrides[] = [{ numLayers: 1 }, { numLayers: 5 }, { hiddenSize: 2 * cur.hiddenSize }, { numHeads: cur.numKvHeads, numKvHeads: cur.numKvHeads }];
      for (const o of overrides) {
        const { arch, cfg } = resolveArchitecture(reshapeConfig(raw, o));
        expect([cfg.numLayers, cfg.hiddenSize], JSON.stringify(o)).toEqual([o.numLayers ?? cur.numLayers, o.hiddenSize ?? cur.hiddenSize]);
        arch.init(cfg, new Random(1));
        expect(buildDecoderGraph(arch, cfg, { logits: 'last' }).outputs.length).toBe(1 + 2 * cfg.numLayers);
      }
    });
  }

  it('gpt_neo: attention_types continues its pattern (global, local, local) and is written in GPTNeoConfig\'s form', () => {
    const raw = TINY_CONFIGS['gpt_neo (global, local 4, local 4; unscaled attention)'];
    const deeper = reshapeConfig(raw, { numLayers: 5 });
    expect(deeper.attention_types).toEqual([[['global', 'local', 'local'], 1], [['global', 'local'], 1]]);
    expect(read(raw, { numLayers: 5 }).slidingWindows).toEqual([null, 4, 4, null, 4]);
    expect(reshapeConfig(raw, { numLayers: 1 }).attention_types).toEqual([[['global'], 1]]);
    // transformers saves the expanded list too (attention_layers), and reads it first.
    const saved = reshapeConfig({ ...raw, attention_layers: ['global', 'local', 'local'] }, { numLayers: 4 });
    expect(saved.attention_layers).toEqual(['global', 'local', 'local', 'global']);
    // Re-made from GPT-2 at another depth: GPTNeoConfig's global/local alternation.
    const neo = reshapeConfig({ model_type: 'gpt2', n_embd: 32, n_head: 4, n_layer: 2 }, { modelType: 'gpt_neo', numLayers: 5 });
    expect(neo.attention_types).toEqual([[['global', 'local'], 2], [['global'], 1]]);
  });

  it('gemma3_text: a derived 5:1 pattern goes on at any depth; a 2:1 list of the user\'s own stays 2:1', () => {
    const types = (n: number) => Array.from({ length: n }, (_, i) => ((i + 1) % 6 ? S : F));
    const saved = { ...TINY_CONFIGS['gemma3_text (q/k norms, 2:1 local/global, two rope bases, linear global rope, exact gelu)'] };
    const derived = { ...saved, num_hidden_layers: 4, layer_types: types(4) }; // [S, S, S, S]: what Gemma3TextConfig saves for 4 layers
    expect(reshapeConfig(derived, { numLayers: 13 }).layer_types).toEqual(types(13));
    expect(read(derived, { numLayers: 8 }).slidingWindows).toEqual([4, 4, 4, 4, 4, null, 4, 4]);
    expect(reshapeConfig(saved, { numLayers: 5 }).layer_types).toEqual([S, F, S, F, S]);
  });

  it('gemma2: alternation goes on', () => {
    const raw = { ...TINY_CONFIGS['gemma2 (sandwich norms, soft-caps, alternating window 3, query_pre_attn_scalar)'], layer_types: [S, F, S] };
    expect(reshapeConfig(raw, { numLayers: 4 }).layer_types).toEqual([S, F, S, F]);
  });

  it('qwen2: layers from max_window_layers on slide at the new depth, as Qwen2Config derives them', () => {
    const raw = { ...TINY_CONFIGS['qwen2 (q/k/v bias)'], num_hidden_layers: 4, use_sliding_window: true, sliding_window: 3, max_window_layers: 2, layer_types: [F, F, S, S] };
    expect(reshapeConfig(raw, { numLayers: 6 }).layer_types).toEqual([F, F, S, S, S, S]);
    expect(read(raw, { numLayers: 1 }).slidingWindows).toEqual([null]);
  });

  it('smollm3: no_rope_layers and layer_types follow the depth, derived or continued', () => {
    const base = { ...TINY_CONFIGS['smollm3 (NoPE every 2nd layer, sliding 3 on NoPE layers, GQA, tied)'], num_hidden_layers: 6, no_rope_layer_interval: 4 };
    // As SmolLM3Config saves it: no_rope_layers from the interval, layer_types sliding on the NoPE layers.
    const saved = { ...base, no_rope_layers: [1, 1, 1, 0, 1, 1], layer_types: [F, F, F, S, F, F] };
    const deeper = reshapeConfig(saved, { numLayers: 8 });
    expect(deeper.no_rope_layers).toEqual([1, 1, 1, 0, 1, 1, 1, 0]);
    expect(deeper.layer_types).toEqual([F, F, F, S, F, F, F, S]);
    // A list of the user's own (NoPE every other layer) goes on as it is.
    const own = reshapeConfig({ ...base, no_rope_layers: [1, 0, 1, 0, 1, 0], layer_types: [F, S, F, S, F, S] }, { numLayers: 3 });
    expect([own.no_rope_layers, own.layer_types]).toEqual([[1, 0, 1], [F, S, F]]);
    expect(read(saved, { numLayers: 8 }).ropeLayers).toEqual([true, true, true, false, true, true, true, false]);
  });

  it('mistral: a layer_types list of the user\'s own continues (transformers loads it as Ministral, which honours it)', () => {
    const raw = { ...TINY_CONFIGS['mistral (head_dim override, sliding window 4)'], layer_types: [F, S] };
    expect(read(raw, { numLayers: 3 }).slidingWindows).toEqual([null, 4, null]);
  });

  it('llama: a layer_types list it ignores still fits the depth (transformers checks its length in every family)', () => {
    const raw = { ...TINY_CONFIGS['llama (GQA, untied)'], sliding_window: 4, layer_types: [F, S] };
    expect(reshapeConfig(raw, { numLayers: 3 }).layer_types).toEqual([F, S, F]);
    // LlamaModel attends to everything whatever layer_types says.
    expect(read(raw, { numLayers: 3 }).slidingWindows).toEqual([null, null, null]);
  });

  it('opt: word_embed_proj_dim follows the width where it equalled it (as transformers saves it); a projection of the user\'s own stays', () => {
    const plain = { ...TINY_CONFIGS['opt (post-LN, ReLU, no biases, untied)'], word_embed_proj_dim: 32 };
    expect(read(plain, { hiddenSize: 64 })).toMatchObject({ hiddenSize: 64, wordEmbedDim: 64 });
    const projected = TINY_CONFIGS['opt (pre-LN, exact gelu, project_in/out 24, tied)'];
    expect(read(projected, { hiddenSize: 64 })).toMatchObject({ hiddenSize: 64, wordEmbedDim: 24 });
  });

  it('phi3: longrope factors are resampled over the frequencies for a new head size; shared frequencies keep theirs', () => {
    expect(resampleRopeFactors([1, 1.5], 4)).toEqual([1, 1.25, 1.5, 1.5]);
    expect(resampleRopeFactors([1, 2, 3, 4], 2)).toEqual([1, 3]);
    const raw = TINY_CONFIGS['phi3 (longrope long factors past an original context of 4, tied)'];
    const before = resolveArchitecture(raw).cfg as unknown as { ropeTheta: number; ropeScaling: { type: 'longrope'; shortFactor: number[]; longFactor: number[] }; rotaryDim: number };
    const out = reshapeConfig(raw, { numHeads: 2, numKvHeads: 2 }); // head_dim 8 → 16
    const after = resolveArchitecture(out).cfg as unknown as typeof before;
    expect(after.rotaryDim).toBe(16);
    expect(after.ropeScaling.longFactor).toEqual([1.2, 1.6, 2, 2.75, 3.5, 5.75, 8, 8]);
    // Frequency i of the 8-feature head is frequency 2i of the 16-feature one, scaled alike.
    const long = (c: typeof before) => inverseFrequencies(c.ropeTheta, { ...c.ropeScaling, shortFactor: c.ropeScaling.longFactor }, c.rotaryDim);
    const [a, b] = [long(before), long(after)];
    for (let i = 0; i < a.length; i++) expect(b[2 * i]).toBeCloseTo(a[i], 6);
  });
});
