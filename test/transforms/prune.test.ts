import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { kthSmallest, pruneTensor, pruneWeights } from '../../src/transforms/prune.js';
import { selectParameters } from '../../src/transforms/select.js';
import { gpt2Parameters, normalizeGpt2Config } from '../../src/models/gpt2.js';
import { llamaParameters, normalizeLlamaConfig } from '../../src/models/llama.js';

describe('kthSmallest', () => {
  it('agrees with sorting, duplicates included', () => {
    const rng = new Random(3);
    for (const n of [1, 2, 7, 100, 1001]) {
      const a = Float32Array.from({ length: n }, () => Math.round(rng.normal(0, 3)) + 0);
      const sorted = Float32Array.from(a).sort();
      for (const k of [0, n >> 1, n - 1]) expect(kthSmallest(Float32Array.from(a), k)).toBe(sorted[k]);
    }
  });
});

describe('pruneTensor', () => {
  it('zeros exactly the requested count, smallest magnitudes first, ties by position', () => {
    const t = { shape: [2, 4], data: Float32Array.from([0.5, -0.1, 0.3, -0.3, 0.2, 0.3, -0.9, 0.05]) };
    const p = pruneTensor(t, 4);
    expect(Array.from(p.data)).toEqual(Array.from(Float32Array.from([0.5, 0, 0, -0.3, 0, 0.3, -0.9, 0])));
    expect(t.data[1]).toBe(Math.fround(-0.1)); // input untouched
    expect(Array.from(pruneTensor(t, 8).data).every((x) => x === 0)).toBe(true);
    expect(Array.from(pruneTensor(t, 0).data)).toEqual(Array.from(t.data));
  });

  it('keeps every weight larger than every pruned one', () => {
    const rng = new Random(11);
    const t = { shape: [64, 48], data: Float32Array.from({ length: 64 * 48 }, () => rng.normal(0, 1)) };
    const p = pruneTensor(t, Math.round(0.37 * t.data.length));
    let maxPruned = 0;
    let minKept = Infinity;
    let zeros = 0;
    for (let i = 0; i < t.data.length; i++) {
      if (p.data[i] === 0) { zeros++; maxPruned = Math.max(maxPruned, Math.abs(t.data[i])); }
      else { minKept = Math.min(minKept, Math.abs(p.data[i])); expect(p.data[i]).toBe(t.data[i]); }
    }
    expect(zeros).toBe(Math.round(0.37 * t.data.length));
    expect(maxPruned).toBeLessThanOrEqual(minKept);
  });
});

describe('selectParameters', () => {
  const gpt2 = gpt2Parameters(normalizeGpt2Config({ n_embd: 8, n_head: 2, n_layer: 1, vocab_size: 10, n_positions: 4 }));
  const llama = llamaParameters(normalizeLlamaConfig({ hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 1, intermediate_size: 16, vocab_size: 10 }));
  const names = (ps: { name: string }[]) => ps.map((p) => p.name);

  it('linear is the block projections: no embeddings, norms, biases or head', () => {
    expect(names(selectParameters(gpt2, 'linear'))).toEqual([
      'transformer.h.0.attn.c_attn.weight', 'transformer.h.0.attn.c_proj.weight', 'transformer.h.0.mlp.c_fc.weight', 'transformer.h.0.mlp.c_proj.weight',
    ]);
    expect(names(selectParameters(gpt2, 'conv'))).toEqual(names(selectParameters(gpt2, 'linear')));
    expect(names(selectParameters(llama, 'linear'))).toHaveLength(7);
    expect(selectParameters(llama, 'conv')).toEqual([]);
  });

  it('embedding and all', () => {
    expect(names(selectParameters(gpt2, 'embedding'))).toEqual(['transformer.wte.weight', 'transformer.wpe.weight']);
    expect(names(selectParameters(llama, 'all'))).toEqual(expect.arrayContaining(['model.embed_tokens.weight', 'lm_head.weight']));
    expect(names(selectParameters(llama, 'all'))).toHaveLength(9);
  });
});

describe('pruneWeights', () => {
  it('reports the sparsity of the pruned tensors and shares the others', () => {
    const a = { shape: [10, 10], data: Float32Array.from({ length: 100 }, (_, i) => i - 50) };
    const b = { shape: [10], data: new Float32Array(10).fill(1) };
    const w = new Map([['a', a], ['b', b]]);
    const r = pruneWeights(w, [{ name: 'a', shape: [10, 10] }], 0.25);
    expect(r.sparsity).toBe(0.25); // the one zero already there is among the 25 smallest
    expect(r.zeroed).toBe(24);
    expect(r.weights.get('b')).toBe(b);
  });
});
