import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { dequantizeMatrix, quantizeMatrix, toGgufBlocks } from '../../src/transforms/blocks.js';
import { halfToNumber } from '../../src/transforms/quantize.js';

const rng = new Random(5);
const matrix = (n: number, k: number) => Float32Array.from({ length: n * k }, () => rng.normal(0, 1));

describe('Q8_0 blocks', () => {
  it('round-trips within half a step per block, extremes exact up to the fp16 scale', () => {
    const x = matrix(3, 64);
    const m = quantizeMatrix(x, 3, 64, 8);
    expect(m.qweight).toHaveLength(3 * 2 * 32);
    expect(m.scales).toHaveLength(6);
    const back = dequantizeMatrix(m, halfToNumber);
    for (let b = 0; b < 6; b++) {
      const d = halfToNumber(m.scales[b]);
      const block = x.subarray(b * 32, b * 32 + 32);
      expect(d).toBeCloseTo(Math.max(...block.map(Math.abs)) / 127, 3);
      for (let i = 0; i < 32; i++) expect(Math.abs(back[b * 32 + i] - block[i])).toBeLessThanOrEqual(d * 0.5 + 1e-3 * Math.abs(block[i]));
    }
  });

  it('an all-zero block has scale 0 and stays zero', () => {
    const m = quantizeMatrix(new Float32Array(32), 1, 32, 8);
    expect(m.scales[0]).toBe(0);
    expect(Array.from(m.qweight).every((q) => q === 128)).toBe(true);
    expect(Array.from(dequantizeMatrix(m, halfToNumber)).every((v) => v === 0)).toBe(true);
  });
});

describe('Q4_0 blocks', () => {
  it('follows d = m/−8, q = min(15, ⌊x/d + 8.5⌋), low nibble first', () => {
    const x = Float32Array.from({ length: 32 }, (_, i) => (i - 16) / 4); // −4 … 3.75; m = −4, d = 0.5
    const m = quantizeMatrix(x, 1, 32, 4);
    expect(halfToNumber(m.scales[0])).toBe(0.5);
    // x/d = (i − 16)/2, so q = min(15, ⌊i/2 + 0.5⌋): the clamp bites only at i = 31.
    const q = (i: number) => (m.qweight[i >> 1] >> ((i & 1) * 4)) & 15;
    for (let i = 0; i < 32; i++) expect(q(i)).toBe(Math.min(15, Math.floor(i / 2 + 0.5)));
    expect(dequantizeMatrix(m, halfToNumber).every((v, i) => Math.abs(v - x[i]) <= 0.25 + 1e-6)).toBe(true);
  });

  it('repacks to GGUF order: byte j holds element j (low) and j+16 (high)', () => {
    const x = matrix(2, 32);
    const m = quantizeMatrix(x, 2, 32, 4);
    const g = toGgufBlocks(m);
    expect(g).toHaveLength(2 * 18);
    const q = (r: number, i: number) => (m.qweight[r * 16 + (i >> 1)] >> ((i & 1) * 4)) & 15;
    for (let r = 0; r < 2; r++) {
      expect(g[r * 18] | (g[r * 18 + 1] << 8)).toBe(m.scales[r]);
      for (let j = 0; j < 16; j++) {
        expect(g[r * 18 + 2 + j] & 15).toBe(q(r, j));
        expect(g[r * 18 + 2 + j] >> 4).toBe(q(r, j + 16));
      }
    }
    const g8 = toGgufBlocks(quantizeMatrix(Float32Array.from({ length: 32 }, (_, i) => i - 31), 1, 32, 8));
    expect(new Int8Array(g8.buffer, 2, 32)[0]).toBe(-127); // int8 two's complement, d = 31/127
  });
});
