/**
 * A training run's speed apart from its warm-up. The first steps of a run (a resumed one's too:
 * its session is new) are not its speed: ORT plans the step's memory on the first run and
 * allocates that plan on the second, each several times slower than the hundreds of steps after
 * them. bench:train leaves the same steps out, so the two rates compare.
 */
export const WARMUP_STEPS = 2;

export class StepClock {
  /** Seconds the warm-up steps took. */
  warmupS = 0;
  /** Seconds the steps after them took. */
  steadyS = 0;
  steadySteps = 0;
  private steps = 0;

  constructor(private readonly tokensPerStep: number) {}

  /** Counts one step that took `seconds`. */
  add(seconds: number): void {
    if (this.steps++ < WARMUP_STEPS) this.warmupS += seconds;
    else {
      this.steadyS += seconds;
      this.steadySteps++;
    }
  }

  /** Tokens/s of the steady state; of the warm-up steps while none has followed them (0 before any step). */
  tokensPerS(): number {
    if (this.steadySteps > 0) return (this.steadySteps * this.tokensPerStep) / this.steadyS;
    return this.warmupS > 0 ? (this.steps * this.tokensPerStep) / this.warmupS : 0;
  }
}
