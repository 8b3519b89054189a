/** Config reading of the LLaMA variants (qwen3, olmo2, granite, smollm3): transformers' defaults and quirks. */
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/tool.js';
import { reshapeConfig } from '../../src/models/config-edit.js';
import { resolveArchitecture } from '../../src/models/index.js';
import type { LlamaConfig } from '../../src/models/llama.js';

const SIZES = { vocab_size: 40, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 4, num_attention_heads: 4 };
const read = (raw: Record<string, unknown>) => resolveArchitecture({ ...SIZES, ...raw }).cfg as LlamaConfig;

describe('LLaMA variants read their configs as transformers does', () => {
  it('qwen3: head_dim 128 when absent (Qwen3Config), per-head q/k norm, no MLP bias whatever mlp_bias says', () => {
    const cfg = read({ model_type: 'qwen3', mlp_bias: true });
    expect([cfg.headDim, cfg.qkNorm, cfg.mlpBias]).toEqual([128, 'head', false]);
    // The reinitializer's new width carries a head_dim that follows it, not Qwen3's 128.
    const wider = reshapeConfig({ ...SIZES, model_type: 'qwen3', head_dim: 8 }, { hiddenSize: 64 });
    expect(wider.head_dim).toBe(16);
  });

  it('layer_types: read by qwen2 (an unknown kind is a one-line error), ignored by llama as LlamaModel does', () => {
    const types = ['full_attention', 'chunked_attention', 'full_attention', 'full_attention'];
    expect(() => read({ model_type: 'qwen2', layer_types: types })).toThrow(/layer type "chunked_attention" is not supported/);
    const sliding = ['sliding_attention', 'full_attention', 'full_attention', 'full_attention'];
    expect(read({ model_type: 'llama', sliding_window: 2, layer_types: sliding }).slidingWindows).toEqual([null, null, null, null]);
  });

  it('qwen3: sliding windows only with use_sliding_window, from max_window_layers on', () => {
    expect(read({ model_type: 'qwen3', sliding_window: 4 }).slidingWindows).toEqual([null, null, null, null]);
    expect(read({ model_type: 'qwen3', sliding_window: 4, use_sliding_window: true, max_window_layers: 2 }).slidingWindows).toEqual([null, null, 4, 4]);
  });

  it('qwen2/qwen3: sliding layer_types without use_sliding_window is refused, as transformers cannot run it', () => {
    const types = ['sliding_attention', 'full_attention', 'full_attention', 'full_attention'];
    for (const model_type of ['qwen2', 'qwen3']) {
      expect(() => read({ model_type, sliding_window: 4, layer_types: types })).toThrow(
        new UserError(`${model_type} config.json: layer_types has sliding_attention layers but "use_sliding_window" is not true, so transformers drops sliding_window and cannot run them; set "use_sliding_window": true or make them full_attention`),
      );
      expect(read({ model_type, sliding_window: 4, use_sliding_window: true, layer_types: types }).slidingWindows).toEqual([4, null, null, null]);
      expect(read({ model_type, sliding_window: 4, layer_types: types.map(() => 'full_attention') }).slidingWindows).toEqual([null, null, null, null]);
    }
  });

  it('olmo2: post-norms and q/k norm over the projection; layer_types ignored as Olmo2Attention does', () => {
    const cfg = read({ model_type: 'olmo2', sliding_window: 2, layer_types: ['sliding_attention', 'full_attention', 'full_attention', 'full_attention'] });
    expect([cfg.postNorms, cfg.qkNorm, cfg.rmsNormEps]).toEqual([true, 'projection', 1e-5]);
    expect(cfg.slidingWindows).toEqual([null, null, null, null]);
  });

  it('granite: multipliers default to 1 and must be positive', () => {
    expect(read({ model_type: 'granite' }).multipliers).toEqual({ embedding: 1, residual: 1, attention: 1, logits: 1 });
    expect(() => read({ model_type: 'granite', logits_scaling: 0 })).toThrow(new UserError('granite config.json: "logits_scaling" must be a positive number, got 0'));
  });

  it('smollm3: every 4th layer without rope by default; no_rope_layers wins; sliding on NoPE layers with use_sliding_window', () => {
    expect(read({ model_type: 'smollm3' }).ropeLayers).toEqual([true, true, true, false]);
    expect(read({ model_type: 'smollm3', no_rope_layers: [0, 1, 1, 1, 1] }).ropeLayers).toEqual([false, true, true, true]);
    expect(read({ model_type: 'smollm3', use_sliding_window: true, sliding_window: 3 }).slidingWindows).toEqual([null, null, null, 3]);
    expect(() => read({ model_type: 'smollm3', no_rope_layers: [1, 0] })).toThrow(/"no_rope_layers" must list/);
    expect(read({ model_type: 'smollm3' }).ropeTheta).toBe(2000000);
  });

  it('bare configs take each family\'s own defaults where LLaMA\'s differ (as AutoConfig.for_model)', () => {
    const bare = (model_type: string) => resolveArchitecture({ model_type }).cfg as LlamaConfig;
    const s = bare('smollm3');
    expect([s.hiddenSize, s.numLayers, s.numHeads, s.numKvHeads, s.padTokenId, s.bosTokenId, s.eosTokenId, s.tieWordEmbeddings])
      .toEqual([2048, 36, 16, 4, 128004, 128000, 128001, true]);
    expect([bare('qwen3').intermediateSize, bare('qwen3').headDim]).toEqual([22016, 128]);
    expect([bare('olmo2').padTokenId, bare('olmo2').eosTokenId, bare('olmo2').rmsNormEps]).toEqual([1, 50279, 1e-5]);
    expect([bare('granite').bosTokenId, bare('granite').eosTokenId]).toEqual([1, 2]);
  });
});
