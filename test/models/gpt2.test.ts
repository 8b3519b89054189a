import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { UserError } from '../../src/core/tool.js';
import { gpt2, normalizeGpt2Config } from '../../src/models/gpt2.js';

function std(data: Float32Array): number {
  const mean = data.reduce((s, v) => s + v, 0) / data.length;
  return Math.sqrt(data.reduce((s, v) => s + (v - mean) ** 2, 0) / data.length);
}

describe('gpt2 config', () => {
  it('reads Hugging Face keys with transformers defaults and ignores unknown keys', () => {
    const cfg = normalizeGpt2Config({ model_type: 'gpt2', n_layer: 2, n_embd: 64, n_head: 4, whatever: [1], architectures: ['GPT2LMHeadModel'] });
    expect(cfg).toMatchObject({
      modelType: 'gpt2', vocabSize: 50257, hiddenSize: 64, numLayers: 2, numHeads: 4, numKvHeads: 4, headDim: 16,
      maxPositions: 1024, intermediateSize: 256, layerNormEpsilon: 1e-5, geluApproximate: 'tanh',
      tieWordEmbeddings: true, initializerRange: 0.02,
    });
  });

  it.each([
    [{ n_embd: 50, n_head: 4 }, /n_embd \(50\) is not divisible by n_head \(4\)/],
    [{ n_layer: 0 }, /"n_layer" must be a positive integer, got 0/],
    [{ n_head: '12' }, /"n_head" must be a positive integer, got "12"/],
    [{ layer_norm_epsilon: -1 }, /"layer_norm_epsilon" must be a positive number/],
    [{ activation_function: 'relu' }, /activation_function "relu" is not supported; use one of gelu_new/],
    [{ eos_token_id: 'x' }, /"eos_token_id" must be a token id/],
  ])('rejects %j with a one-line UserError', (over, message) => {
    const fn = () => normalizeGpt2Config({ model_type: 'gpt2', ...over });
    expect(fn).toThrow(UserError);
    expect(fn).toThrow(message);
  });
});

describe('gpt2 parameters and init', () => {
  const cfg = normalizeGpt2Config({ model_type: 'gpt2', vocab_size: 300, n_positions: 40, n_layer: 2, n_embd: 64, n_head: 4 });

  it('lists Hugging Face names and Conv1D [in, out] layouts; a tied head has no lm_head', () => {
    const params = new Map(gpt2.parameters(cfg).map((p) => [p.name, p.shape]));
    expect(params.size).toBe(2 + 12 * 2 + 2);
    expect(params.get('transformer.h.1.attn.c_attn.weight')).toEqual([64, 192]);
    expect(params.get('transformer.h.0.mlp.c_proj.weight')).toEqual([256, 64]);
    expect(params.has('lm_head.weight')).toBe(false);
    const untied = gpt2.parameters({ ...cfg, tieWordEmbeddings: false });
    expect(untied.at(-1)).toEqual({ name: 'lm_head.weight', shape: [300, 64], role: 'head' });
    const cAttn = gpt2.parameters(cfg).find((p) => p.name === 'transformer.h.0.attn.c_attn.weight')!;
    expect(cAttn).toMatchObject({ role: 'attention', layout: 'in_out' });
    expect(cAttn.parts!.map((p) => p.size)).toEqual([64, 64, 64]);
  });

  it('initialises as transformers does: normal(0, 0.02), c_proj scaled by 1/√(2·n_layer), LayerNorm 1/0, biases 0', () => {
    const w = gpt2.init(cfg, new Random(0));
    expect(std(w.get('transformer.wte.weight')!.data)).toBeCloseTo(0.02, 3);
    expect(std(w.get('transformer.h.0.mlp.c_fc.weight')!.data)).toBeCloseTo(0.02, 3);
    expect(std(w.get('transformer.h.1.mlp.c_proj.weight')!.data)).toBeCloseTo(0.02 / Math.sqrt(4), 3);
    expect(std(w.get('transformer.h.1.attn.c_proj.weight')!.data)).toBeCloseTo(0.01, 3);
    expect(w.get('transformer.ln_f.weight')!.data.every((v) => v === 1)).toBe(true);
    expect(w.get('transformer.h.0.ln_1.bias')!.data.every((v) => v === 0)).toBe(true);
    expect(w.get('transformer.h.0.attn.c_attn.bias')!.data.every((v) => v === 0)).toBe(true);
  });

  it('is reproducible from the seed', () => {
    const a = gpt2.init(cfg, new Random(9)).get('transformer.h.0.attn.c_attn.weight')!.data;
    const b = gpt2.init(cfg, new Random(9)).get('transformer.h.0.attn.c_attn.weight')!.data;
    const c = gpt2.init(cfg, new Random(10)).get('transformer.h.0.attn.c_attn.weight')!.data;
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });
});
