import { describe, expect, it } from 'vitest';
import {
  applyRepetitionPenalty, argmax, filteredDistribution, sampleToken, topIndices,
} from '../../src/runtime/sampling.js';

/** Brute force: softmax(l/T), keep top-k, renormalise, keep while mass-before < p. */
function reference(logits: number[], T: number, k: number, p: number): Map<number, number> {
  const order = logits.map((_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  const kept = k > 0 ? order.slice(0, k) : order;
  const w = kept.map((i) => Math.exp(logits[i] / T));
  const total = w.reduce((a, b) => a + b, 0);
  const out: number[] = [];
  let mass = 0;
  for (let i = 0; i < kept.length; i++) {
    if (p < 1 && mass >= p) break;
    out.push(i);
    mass += w[i] / total;
  }
  const m = out.reduce((a, i) => a + w[i], 0);
  return new Map(out.map((i) => [kept[i], w[i] / m]));
}

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('sampling', () => {
  it('argmax takes the first maximum', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
  });

  it('topIndices matches a full sort, ties by index', () => {
    const rnd = lcg(1);
    const v = Array.from({ length: 3000 }, () => Math.round(rnd() * 100));
    const full = v.map((_, i) => i).sort((a, b) => v[b] - v[a] || a - b);
    for (const k of [1, 5, 50, 513, 3000]) expect(Array.from(topIndices(v, k))).toEqual(full.slice(0, k));
  });

  it('filters like transformers warpers for many settings', () => {
    const rnd = lcg(7);
    for (let trial = 0; trial < 40; trial++) {
      const logits = Array.from({ length: 200 }, () => (rnd() - 0.5) * 12);
      const T = [0.3, 0.6, 1, 1.7][trial % 4];
      const k = [0, 1, 10, 50, 300][trial % 5];
      const p = [1, 0.95, 0.5, 0.01][trial % 4 === 0 ? 0 : trial % 4];
      const got = filteredDistribution(Float32Array.from(logits), { temperature: T, topK: k, topP: p });
      const want = reference(logits, T, k, p);
      expect(Array.from(got.ids).sort((a, b) => a - b)).toEqual([...want.keys()].sort((a, b) => a - b));
      got.ids.forEach((id, i) => expect(got.probs[i]).toBeCloseTo(want.get(id)!, 6));
    }
  });

  it('top_p keeps at least the most likely token', () => {
    const d = filteredDistribution(Float32Array.from([5, 1, 0]), { temperature: 1, topK: 0, topP: 0.0001 });
    expect(Array.from(d.ids)).toEqual([0]);
  });

  it('repetition penalty divides positive and multiplies negative logits', () => {
    const l = Float32Array.from([2, -2, 1]);
    applyRepetitionPenalty(l, [0, 1, 1], 2);
    expect(Array.from(l)).toEqual([1, -4, 1]);
  });

  it('greedy ignores the random source; sampling follows the distribution', () => {
    const opts = { doSample: false, temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1 };
    expect(sampleToken(Float32Array.from([0, 3, 1]), opts, [], () => 0.99)).toBe(1);
    const sampled = { ...opts, doSample: true };
    const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.2)];
    const counts = [0, 0, 0];
    const rnd = lcg(3);
    for (let i = 0; i < 20000; i++) counts[sampleToken(Float32Array.from(logits), sampled, [], rnd)]++;
    expect(counts[0] / 20000).toBeCloseTo(0.5, 1);
    expect(counts[2] / 20000).toBeCloseTo(0.2, 1);
  });
});
