/**
 * The SIMD AdamW kernel against the update written out in float64: tensors longer than one
 * scratch chunk and not a multiple of the vector width (the tail lanes must not leak), and a
 * tensor of one element. Each error is at most 1e-6 of the terms that make the value: the
 * kernel computes in float32.
 */
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { adamwUpdate, sumOfSquares } from '../../src/runtime/adamw.js';
import { CHUNK } from '../../src/runtime/adamw-wasm.js';

describe('AdamW SIMD kernel', () => {
  it.each([[2 * CHUNK + 7], [1], [CHUNK]])('updates %d elements as the float64 formula does', (n) => {
    const rng = new Random(n);
    const p = rng.fillNormal(new Float32Array(n), 0, 1);
    const g = rng.fillNormal(new Float32Array(n), 0, 1);
    const m = rng.fillNormal(new Float32Array(n), 0, 0.1);
    const v = Float32Array.from({ length: n }, () => rng.uniform() * 0.01);
    const [p0, m0, v0] = [Float64Array.from(p), Float64Array.from(m), Float64Array.from(v)];
    const h = { lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
    const t = 3;
    const scale = 0.25;
    adamwUpdate(p, g, m, v, t, scale, h);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const gi = g[i] * scale;
      const mi = h.beta1 * m0[i] + (1 - h.beta1) * gi;
      const vi = h.beta2 * v0[i] + (1 - h.beta2) * gi * gi;
      const pi = p0[i] * (1 - h.lr * h.weightDecay) - (h.lr * (mi / (1 - h.beta1 ** t))) / (Math.sqrt(vi / (1 - h.beta2 ** t)) + h.eps);
      // Each error against the size of the terms that make the value (float32 rounds each).
      const mScale = h.beta1 * Math.abs(m0[i]) + (1 - h.beta1) * Math.abs(gi);
      const vScale = h.beta2 * v0[i] + (1 - h.beta2) * gi * gi;
      const pScale = Math.abs(p0[i]) + Math.abs(p0[i] - pi);
      worst = Math.max(worst, Math.abs(m[i] - mi) / mScale, Math.abs(v[i] - vi) / vScale, Math.abs(p[i] - pi) / pScale);
    }
    expect(worst).toBeLessThan(1e-6);
  });

  it.each([[2 * CHUNK + 7], [3], [CHUNK]])('sums the squares of %d elements as float64 does (no stale lanes)', (n) => {
    // A long tensor first leaves non-zero scratch past a short one's end.
    sumOfSquares(new Float32Array(CHUNK).fill(3));
    const g = new Random(n).fillNormal(new Float32Array(n), 0, 1);
    let expected = 0;
    for (const x of g) expected += x * x;
    expect(Math.abs(sumOfSquares(g) - expected) / expected).toBeLessThan(1e-12);
    expect(sumOfSquares(new Float32Array(0))).toBe(0);
  });
});
