import { describe, expect, it } from 'vitest';
import { gpt2Parameters, normalizeGpt2Config } from '../../src/models/gpt2.js';
import { llamaParameters, normalizeLlamaConfig } from '../../src/models/llama.js';
import { quantizationTargets } from '../../src/transforms/quantize-targets.js';
import { TINY_LLAMA } from './fixtures.js';

const gpt2 = normalizeGpt2Config({ model_type: 'gpt2', n_embd: 32, n_layer: 1, n_head: 4, vocab_size: 64 });
const llama = normalizeLlamaConfig(TINY_LLAMA);
const bitsOf = (targets: ReturnType<typeof quantizationTargets>) => Object.fromEntries(targets.map((t) => [t.spec.name, t.bits]));

describe('quantizationTargets', () => {
  it('Linear is the projections at --precision and the head (an nn.Linear in torch) at the head bits', () => {
    const t = bitsOf(quantizationTargets(llamaParameters(llama), llama, ['Linear'], 4, 8));
    expect(Object.keys(t)).toHaveLength(15);
    expect(t['model.layers.1.mlp.down_proj.weight']).toBe(4);
    expect(t['lm_head.weight']).toBe(8);
    expect(t['model.embed_tokens.weight']).toBeUndefined();
  });

  it('a tied head is the token embedding, at the head bits whichever type selects it; position embeddings at --precision', () => {
    const params = gpt2Parameters(gpt2);
    expect(bitsOf(quantizationTargets(params, gpt2, ['Linear'], 4, 8))['transformer.wte.weight']).toBe(8);
    expect(bitsOf(quantizationTargets(params, gpt2, ['Embedding'], 4, 8))).toEqual({ 'transformer.wte.weight': 8, 'transformer.wpe.weight': 4 });
    expect(bitsOf(quantizationTargets(params, gpt2, ['Conv1D'], 4, 8))['transformer.wte.weight']).toBeUndefined();
  });

  it('null head bits keep the head, and a tied embedding, float', () => {
    const params = gpt2Parameters(gpt2);
    const t = bitsOf(quantizationTargets(params, gpt2, ['Linear', 'Embedding'], 8, null));
    expect(t['transformer.wte.weight']).toBeUndefined();
    expect(t['transformer.wpe.weight']).toBe(8);
    expect(t['transformer.h.0.attn.c_attn.weight']).toBe(8);
    expect(bitsOf(quantizationTargets(llamaParameters(llama), llama, ['Linear'], 4, null))['lm_head.weight']).toBeUndefined();
  });
});
