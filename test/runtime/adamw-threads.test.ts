import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { adamwUpdate, sumOfSquares } from '../../src/runtime/adamw.js';
import { AdamWThreads, type OptimizerSlot } from '../../src/runtime/adamw-threads.js';

function slots(seed: number): OptimizerSlot[] {
  const rng = new Random(seed);
  return [5000, 17, 3000, 1].map((n, i) => ({
    data: rng.fillNormal(new Float32Array(n), 0, 1),
    m: rng.fillNormal(new Float32Array(n), 0, 0.1),
    v: Float32Array.from({ length: n }, () => rng.uniform() * 0.01),
    grad: rng.fillNormal(new Float32Array(n), 0, 1),
    weightDecay: i % 2 === 0 ? 0.1 : 0,
  }));
}

describe('AdamWThreads', () => {
  it('gives bit-identical results to the single-threaded update and returns every array', async () => {
    const threaded = slots(3);
    const plain = slots(3);
    const pool = new AdamWThreads(3, threaded.map((s) => s.data.length));
    const hyper = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
    const expected = plain.reduce((s, x) => s + sumOfSquares(x.grad), 0);
    expect(await pool.sumOfSquares(threaded)).toBeCloseTo(expected, 6);
    await pool.update(threaded, 4, 0.5, hyper);
    for (const s of plain) adamwUpdate(s.data, s.grad, s.m, s.v, 4, 0.5, { ...hyper, weightDecay: s.weightDecay });
    threaded.forEach((s, i) => {
      expect(s.data).toEqual(plain[i].data);
      expect(s.m).toEqual(plain[i].m);
      expect(s.v).toEqual(plain[i].v);
      expect(s.grad).toEqual(plain[i].grad); // back from its worker, for the next step's run to write into
    });
    await pool.close();
  });
});
