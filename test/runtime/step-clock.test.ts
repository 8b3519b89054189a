import { describe, expect, it } from 'vitest';
import { StepClock, WARMUP_STEPS } from '../../src/runtime/step-clock.js';

describe('StepClock', () => {
  it('leaves the first two steps out of the rate and reports their time apart', () => {
    expect(WARMUP_STEPS).toBe(2);
    const clock = new StepClock(1024);
    // As ORT runs: a planning run, an allocating run, then the steady steps.
    for (const s of [6, 3, 2, 2.5, 1.5]) clock.add(s);
    expect(clock.warmupS).toBe(9);
    expect(clock.steadySteps).toBe(3);
    expect(clock.tokensPerS()).toBeCloseTo((3 * 1024) / 6, 9);
  });

  it('gives the warm-up rate while no step has followed it, and 0 before any step', () => {
    const clock = new StepClock(100);
    expect(clock.tokensPerS()).toBe(0);
    clock.add(4);
    expect(clock.tokensPerS()).toBe(25);
    clock.add(1);
    expect(clock.tokensPerS()).toBe(40);
    expect(clock.steadySteps).toBe(0);
    clock.add(0.5);
    expect(clock.tokensPerS()).toBe(200);
  });
});
