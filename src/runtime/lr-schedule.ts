/**
 * Learning-rate schedules as transformers' `get_scheduler` defines them: linear warmup from 0
 * over `warmupSteps`, then linear decay to 0, a half-cosine to 0, or constant. `step` is the
 * number of optimizer steps already taken, so the first step of a warmed-up run uses lr 0,
 * as in transformers.
 */
export type SchedulerName = 'linear' | 'cosine' | 'constant';

export function learningRate(step: number, peak: number, totalSteps: number, warmupSteps: number, schedule: SchedulerName): number {
  if (step < warmupSteps) return (peak * step) / Math.max(1, warmupSteps);
  if (schedule === 'constant') return peak;
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  if (schedule === 'linear') return peak * Math.max(0, 1 - progress);
  return peak * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
}
