import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';

describe('Random', () => {
  it('replays the same stream for the same seed, a different one for another', () => {
    const a = new Random(42);
    const b = new Random(42);
    const c = new Random(43);
    const xs = Array.from({ length: 5 }, () => a.uniform());
    expect(Array.from({ length: 5 }, () => b.uniform())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.uniform())).not.toEqual(xs);
  });

  it('draws uniforms in [0, 1) with the right mean and variance', () => {
    const r = new Random(1);
    const n = 100_000;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      sum += u;
      sq += u * u;
    }
    expect(sum / n).toBeCloseTo(0.5, 2);
    expect(sq / n - (sum / n) ** 2).toBeCloseTo(1 / 12, 2);
  });

  it('draws normals with the requested mean and std-dev', () => {
    const data = new Random(7).fillNormal(new Float32Array(200_000), 3, 0.5);
    const mean = data.reduce((s, v) => s + v, 0) / data.length;
    const variance = data.reduce((s, v) => s + (v - mean) ** 2, 0) / data.length;
    expect(mean).toBeCloseTo(3, 2);
    expect(Math.sqrt(variance)).toBeCloseTo(0.5, 2);
    // About 68% within one std-dev.
    const within = data.filter((v) => Math.abs(v - 3) < 0.5).length / data.length;
    expect(within).toBeCloseTo(0.6827, 2);
  });

  it('draws integers in [0, n) covering all of them', () => {
    const r = new Random(5);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(r.int(7));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('rejects seeds that are not 32-bit unsigned integers', () => {
    expect(() => new Random(-1)).toThrow(RangeError);
    expect(() => new Random(1.5)).toThrow(RangeError);
    expect(() => new Random(2 ** 32)).toThrow(RangeError);
  });
});
