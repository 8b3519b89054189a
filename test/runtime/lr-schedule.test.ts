import { describe, expect, it } from 'vitest';
import { learningRate } from '../../src/runtime/lr-schedule.js';

describe('learning-rate schedules (transformers semantics)', () => {
  it('warms up linearly from 0, then decays linearly to 0', () => {
    const lr = (s: number) => learningRate(s, 1e-3, 110, 10, 'linear');
    expect(lr(0)).toBe(0);
    expect(lr(5)).toBeCloseTo(5e-4, 12);
    expect(lr(10)).toBeCloseTo(1e-3, 12);
    expect(lr(60)).toBeCloseTo(5e-4, 12);
    expect(lr(110)).toBe(0);
  });

  it('cosine: half a cosine from the peak to 0', () => {
    const lr = (s: number) => learningRate(s, 2, 100, 0, 'cosine');
    expect(lr(0)).toBeCloseTo(2, 12);
    expect(lr(50)).toBeCloseTo(1, 12);
    expect(lr(25)).toBeCloseTo(1 + Math.SQRT1_2, 12);
    expect(lr(100)).toBeCloseTo(0, 12);
  });

  it('constant after warmup; no warmup starts at the peak', () => {
    expect(learningRate(3, 1, 10, 4, 'constant')).toBeCloseTo(0.75, 12);
    expect(learningRate(9, 1, 10, 4, 'constant')).toBe(1);
    expect(learningRate(0, 1, 10, 0, 'linear')).toBe(1);
  });
});
