/**
 * One shape of bench:train, in a process of its own so that its peak RSS is its own (a later,
 * smaller model would otherwise report an earlier one's peak). Forked by bench/train.ts with
 * a RunSpec as argv[2]; it trains as `smox train/finetuner` does — the family's normalizeConfig
 * from the registry, Trainer.create and Trainer.step with the finetuner's optimizer settings —
 * and talks to the parent over IPC:
 *   → { type: 'step', seconds }   after each measured step, then waits for 'go' (the parent
 *                                 samples the MatMul ceiling meanwhile, with this process idle)
 *   → { type: 'result', … }       RunResult, after the trainer is released
 *   → { type: 'error', message }  when the shape cannot be trained here (e.g. too little memory)
 */
import { Random } from '../src/core/random.js';
import { answerParent, sendToParent } from './child.js';
import { resolveArchitecture } from '../src/models/index.js';
import { numel } from '../src/models/tensor.js';
import { allocatorTuned } from '../src/runtime/allocator-tuning.js';
import { Trainer, type TrainerOptions } from '../src/runtime/trainer.js';
import { trainingMemoryBytes } from '../src/runtime/training-memory.js';
import { buildTrainingGraph } from '../src/runtime/training-graph.js';

/** The optimizer both sides use: lr plus the Trainer's AdamW settings. */
export type Optimizer = Required<Pick<TrainerOptions, 'weightDecay' | 'gradClip' | 'beta1' | 'beta2' | 'eps'>> & { lr: number };

export interface RunSpec {
  config: Record<string, unknown>;
  batch: number;
  seq: number;
  steps: number;
  warmup: number;
  threads: number;
  optimizer: Optimizer;
}

export interface RunResult {
  type: 'result';
  params: number;
  /** Seconds of each measured step. */
  times: number[];
  /** Mean seconds per measured step in ORT runs (forward + backward) and in the optimizer. */
  runS: number;
  optimizerS: number;
  /** Loss of the first step (≈ ln vocab from a random start: both sides compute the same loss). */
  firstLoss: number;
  estimatedMb: number;
  peakRssMb: number;
  allocator: string;
}

/** Resolves when the parent says the next step may start. */
const go = () => new Promise<void>((resolve) => process.once('message', () => resolve()));

async function run(spec: RunSpec): Promise<RunResult> {
  const { batch: B, seq: T, optimizer: { lr, ...adamw } } = spec;
  const { arch, cfg } = resolveArchitecture(spec.config);
  const params = arch.parameters(cfg).reduce((n, p) => n + numel(p.shape), 0);
  const estimate = (() => {
    const { graph, forwardNodes } = buildTrainingGraph(arch, cfg, { batchSize: B, seqLength: T, gradients: true });
    return trainingMemoryBytes(graph, forwardNodes, params);
  })();
  // The initial weights are an argument only: the trainer keeps its own copy, as torch's model does.
  const trainer = await Trainer.create(arch, cfg, arch.init(cfg, new Random(0)), { batchSize: B, seqLength: T, threads: spec.threads, ...adamw });
  const rng = new Random(2);
  const batch = () => {
    const inputIds = Int32Array.from({ length: B * T }, () => rng.int(cfg.vocabSize));
    const targets = Int32Array.from({ length: B * T }, () => rng.int(cfg.vocabSize));
    return { inputIds, targets, batchSize: B, seqLength: T };
  };
  // Warm-up, as the finetuner's reported rate leaves it out (src/runtime/step-clock.ts): ORT's
  // first run plans its memory and the second allocates that plan.
  let firstLoss = NaN;
  for (let i = 0; i < spec.warmup; i++) {
    const { loss } = await trainer.step([batch()], lr);
    if (i === 0) firstLoss = loss;
  }
  const times: number[] = [];
  let runS = 0;
  let optimizerS = 0;
  for (let i = 0; i < spec.steps; i++) {
    const b = batch();
    const t0 = performance.now();
    const { loss } = await trainer.step([b], lr);
    times.push((performance.now() - t0) / 1000);
    if (Number.isNaN(firstLoss)) firstLoss = loss;
    runS += trainer.lastStepSeconds.run / spec.steps;
    optimizerS += trainer.lastStepSeconds.optimizer / spec.steps;
    const next = go();
    await sendToParent({ type: 'step', seconds: times.at(-1)! });
    await next;
  }
  await trainer.release();
  return {
    type: 'result', params, times, runS, optimizerS, firstLoss,
    estimatedMb: Math.round(estimate / 2 ** 20),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    allocator: allocatorTuned() ? 'glibc tuned as smox starts it' : 'default',
  };
}

if (process.send) await answerParent(run);
