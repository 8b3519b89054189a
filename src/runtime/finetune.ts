/**
 * The fine-tuning loop behind train/finetuner: data → packed blocks → optimizer steps on a
 * Trainer (one ORT graph for forward + loss + backward), with the learning-rate schedule,
 * periodic evaluation on held-out blocks and checkpoints. Checkpoints are Hugging Face model
 * directories with the optimizer state beside them, so an interrupted run resumes exactly:
 * batch k of the run is a pure function of (seed, k), and the moments and step count come
 * back from disk.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Emitter } from '../core/events.js';
import { recoverDir } from '../core/atomic-write.js';
import { formatArgs } from '../core/replay.js';
import { UserError } from '../core/tool.js';
import { BatchSampler, evalBatches, loadTextDataset, packDataset, stepsForEpochs } from '../data/index.js';
import type { PackedTokens } from '../data/pack.js';
import type { Engine, LoadedModel } from '../engine/engine.js';
import { derivedProvenance, readCheckpoint, writeCheckpoint, type Provenance } from '../models/checkpoint.js';
import { learningRate, type SchedulerName } from './lr-schedule.js';
import { StepClock } from './step-clock.js';
import { checkSeqLength, Trainer } from './trainer.js';
import { hasTrainingState, readTrainingState, writeTrainingState, type TrainerState, type TrainingCurve } from './training-state.js';

export interface FinetuneSettings {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Tokens per training sequence; null: the model's positions, at most DEFAULT_MAX_SEQ_LENGTH. */
  maxSeqLength: number | null;
  maxSteps: number | null;
  warmupSteps: number;
  scheduler: SchedulerName;
  weightDecay: number;
  gradClip: number;
  gradAccum: number;
  evalEvery: number;
  saveEvery: number;
  seed: number;
  valFraction: number;
  textColumn: string | null;
  resume: boolean;
}

export interface FinetuneJob {
  cwd: string;
  engine: Engine;
  signal: AbortSignal;
  emit: Emitter;
  model: string;
  dataset: string;
  /** Absolute output directory. */
  outDir: string;
  /** The tool's resolved arguments, for smolbox.json. */
  args: Record<string, unknown>;
}

export interface FinetuneResult {
  steps: number;
  loss: number;
  evalLoss: number | null;
  /** Steady-state training rate: over the steps after the warm-up ones (over all of them when none followed). */
  tokensPerS: number;
  /** Seconds the run's warm-up steps took (step-clock.ts). */
  warmupS: number;
  /** Steps the steady-state rate is measured over (0: the run had only warm-up steps). */
  steadySteps: number;
  curve: TrainingCurve;
}

/** The sequence length when none is given and the model has more positions (the Python smolbox's default). */
export const DEFAULT_MAX_SEQ_LENGTH = 512;

/** Evaluation looks at most this many batches, so a big validation split does not stall training. */
const MAX_EVAL_BATCHES = 50;

function tokenizerHash(model: Pick<LoadedModel, 'dir' | 'tokenizerFiles'>): string {
  const h = crypto.createHash('sha256');
  for (const f of model.tokenizerFiles.filter((n) => n !== 'chat_template.jinja')) h.update(f).update(fs.readFileSync(path.join(model.dir, f)));
  return h.digest('hex');
}

async function evaluate(trainer: Trainer, packed: PackedTokens, batchSize: number, signal: AbortSignal): Promise<number> {
  let sum = 0;
  let rows = 0;
  let n = 0;
  for (const batch of evalBatches(packed, batchSize)) {
    if (n++ >= MAX_EVAL_BATCHES || signal.aborted) break;
    sum += (await trainer.evalLoss(batch)) * batch.batchSize;
    rows += batch.batchSize;
  }
  return sum / rows;
}

/** A loaded model's description: all but its weights. */
function withoutWeights({ weights: _weights, ...rest }: LoadedModel): Omit<LoadedModel, 'weights'> {
  return rest;
}

/** Lets signal handlers (Ctrl-C) run between steps: ORT's run blocks the event loop while it computes. */
const yieldToEvents = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function finetune(job: FinetuneJob, s: FinetuneSettings): Promise<FinetuneResult> {
  const { emit, signal } = job;
  // The weights are reached only through `loaded`, dropped once the trainer has copied them (below).
  let loaded: LoadedModel | null = await job.engine.model(job.model, { cwd: job.cwd, signal, emit });
  const model = withoutWeights(loaded);
  const tokenizer = model.tokenizer;
  if (!tokenizer) throw new UserError(`${job.model} has no tokenizer files; training on text needs tokenizer.json`);
  const { cfg } = model;
  const dataset = await loadTextDataset(job.dataset, { cwd: job.cwd, textColumn: s.textColumn, signal, emit });
  // After the dataset is found (a missing file is reported as such), before it is tokenised.
  const maxSeqLength = s.maxSeqLength ?? Math.min(DEFAULT_MAX_SEQ_LENGTH, cfg.maxPositions);
  checkSeqLength(maxSeqLength, cfg);
  const packed = packDataset(dataset, tokenizer, {
    maxSeqLength,
    valFraction: s.valFraction,
    cache: { dir: path.join(job.cwd, '.smolbox', 'cache', 'tokens'), tokenizerHash: tokenizerHash(model) },
    signal,
    emit,
  });
  const rowsPerStep = s.batchSize * s.gradAccum;
  const stepsPerEpoch = Math.max(1, Math.ceil(packed.train.blocks / rowsPerStep));
  const totalSteps = s.maxSteps ?? stepsForEpochs(packed.train.blocks, rowsPerStep, s.epochs);
  const settings = {
    model: job.model, dataset: job.dataset, batch_size: s.batchSize, grad_accum: s.gradAccum, max_seq_length: maxSeqLength,
    seed: s.seed, learning_rate: s.learningRate, lr_scheduler: s.scheduler, warmup_steps: s.warmupSteps, total_steps: totalSteps,
  };

  let start = 0;
  let curve: TrainingCurve = { loss: [], eval: [] };
  let restored: ReturnType<typeof readTrainingState> | null = null;
  if (s.resume) {
    recoverDir(job.outDir);
    if (!hasTrainingState(job.outDir)) {
      throw new UserError(`--resume: ${job.outDir} holds no interrupted run to continue (no training_state/); pass the interrupted run's --output_model_path`);
    }
    restored = readTrainingState(job.outDir);
    for (const [key, value] of Object.entries(settings)) {
      if (JSON.stringify(restored.state.settings[key]) !== JSON.stringify(value)) {
        throw new UserError(`--resume: ${key} was ${JSON.stringify(restored.state.settings[key])} in the interrupted run, now ${JSON.stringify(value)}; resume with the same settings`);
      }
    }
    start = restored.state.step;
    curve = restored.state.curve;
  }

  // Trainer.create copies the weights: the engine's are never changed in place (its sessions read them).
  const trainer = await Trainer.create(model.arch, cfg, restored ? readCheckpoint(job.outDir, { signal }).weights : loaded.weights, {
    batchSize: s.batchSize,
    seqLength: maxSeqLength,
    threads: job.engine.threads,
    weightDecay: s.weightDecay,
    gradClip: s.gradClip,
  });
  if (restored) trainer.loadOptimizerState(restored.optimizer);
  // Then the engine lets its copy go for the run, and a later step reads the model from disk again:
  // kept, it was a second copy of every weight beside the trainer's through every step (SmolLM2-135M:
  // peak RSS 5.0 → 4.6 GB, the bench's Trainer.step loop's 4.6; the trainer's first step collects it
  // before ORT takes its memory).
  await job.engine.forget(loaded);
  loaded = null;

  const sampler = new BatchSampler(packed.train, s.batchSize, s.seed);
  const provenance = (metrics: Record<string, number>): Provenance =>
    derivedProvenance(model.provenance, { parent: job.model, tool: 'train/finetuner', args: job.args, metrics, training: curve });
  /**
   * Writes the model directory with, unless final, the optimizer state inside it: one directory
   * swapped in by one rename, so a kill leaves the previous checkpoint or this one, each whole
   * (a final save leaves no training_state/ behind). Returns what it wrote.
   */
  const save = (step: number, final: boolean, metrics: Record<string, number>) => {
    const weights = trainer.weights();
    const prov = provenance({ ...metrics, step });
    const state: TrainerState = { step, totalSteps, settings, curve };
    const config = writeCheckpoint(job.outDir, {
      config: model.config, weights, generationConfig: model.generationConfig,
      provenance: prov, dir: model.dir, tokenizerFiles: model.tokenizerFiles,
    }, { flag: '--output_model_path', ...(final ? {} : { extra: (dir: string) => writeTrainingState(dir, trainer.optimizerState(), state) }) });
    return { config, weights, provenance: prov };
  };

  const tokensPerStep = rowsPerStep * maxSeqLength;
  let evalLoss: number | null = curve.eval.at(-1)?.loss ?? null;
  const speed = new StepClock(tokensPerStep);
  let step = start;
  try {
    emit.log(`training ${totalSteps - start} steps of ${rowsPerStep} × ${maxSeqLength} tokens (${packed.train.blocks} blocks, ${stepsPerEpoch} steps per epoch)`);
    for (; step < totalSteps; step++) {
      await yieldToEvents();
      if (signal.aborted) break;
      const batches = Array.from({ length: s.gradAccum }, (_, j) => sampler.batch(step * s.gradAccum + j));
      const lr = learningRate(step, s.learningRate, totalSteps, s.warmupSteps, s.scheduler);
      const t0 = performance.now();
      const { loss } = await trainer.step(batches, lr);
      speed.add((performance.now() - t0) / 1000);
      if (!Number.isFinite(loss)) {
        throw new UserError(`the loss became ${loss} at step ${step + 1}; lower --learning_rate (now ${s.learningRate}) or raise --warmup_steps`);
      }
      curve.loss.push(loss);
      const done = step + 1;
      const tokensPerS = speed.tokensPerS();
      emit.metric('loss', loss, done);
      emit.progress({
        label: 'train', current: done, total: totalSteps, unit: 'step', etaS: ((totalSteps - done) * tokensPerStep) / tokensPerS,
        info: { loss, ...(evalLoss !== null ? { eval_loss: evalLoss } : {}), tokens_per_s: tokensPerS, lr },
      });
      const last = done === totalSteps;
      const epochEnd = done % stepsPerEpoch === 0;
      if (packed.validation && (last || (s.evalEvery > 0 ? done % s.evalEvery === 0 : epochEnd))) {
        evalLoss = await evaluate(trainer, packed.validation, s.batchSize, signal);
        curve.eval.push({ step: done, loss: evalLoss });
        emit.metric('eval_loss', evalLoss, done);
      }
      if (!last && (s.saveEvery > 0 ? done % s.saveEvery === 0 : epochEnd)) save(done, false, { loss });
    }
    const lossNow = curve.loss.at(-1) ?? NaN;
    if (signal.aborted) {
      if (step > start) save(step, false, { loss: lossNow });
      const rel = path.relative(job.cwd, job.outDir) || '.';
      // The checkpoint's smolbox.json holds every setting as this run resolved it (a drawn seed,
      // state-given paths); --resume reads them back, so the state or the defaults of another day
      // do not matter (src/engine/resume-args.ts).
      const again = formatArgs({ resume: true, output_model_path: rel });
      emit.log(
        step > start ? `stopped at step ${step}/${totalSteps}; checkpoint in ${rel}; continue with: smox train/finetuner ${again}` : 'stopped before the first step; nothing saved',
        'warn',
      );
      throw new UserError('train/finetuner: cancelled');
    }
    const tokensPerS = speed.tokensPerS();
    const metrics = {
      loss: lossNow, ...(evalLoss !== null ? { eval_loss: evalLoss } : {}), steps: step, tokens_per_s: tokensPerS, warmup_s: speed.warmupS,
    };
    const final = save(step, true, metrics);
    await job.engine.adopt(job.outDir, { ...final, generationConfig: model.generationConfig });
    return { steps: step, loss: lossNow, evalLoss, tokensPerS, warmupS: speed.warmupS, steadySteps: speed.steadySteps, curve };
  } finally {
    await trainer.release();
  }
}
