/**
 * Full fine-tuning on onnxruntime-node: one ORT run per micro-batch computes forward, mean
 * token cross-entropy and every parameter's gradient (training-graph.ts, autodiff in
 * graph/autodiff.ts); gradients are summed over the micro-batches, clipped by global norm and
 * applied with AdamW here in TypeScript. Weights are graph inputs wrapping our Float32Arrays
 * (ORT reads them without a copy), so the update is visible to the next run with nothing
 * re-sent; the gradients are outputs written into Float32Arrays of ours that serve every step
 * (onnxruntime-node still returns a copy of each, dropped at once). Peak RSS of a
 * Qwen2.5-0.5B-shaped step at 4 × 128: 12.1 GB when ORT allocated the gradients and the copies
 * were kept (one step's copies lived on through the next run), 10.9 GB now.
 *
 * AdamW beside the graph rather than in it, by measurement (2 cores, 40M parameters): as an
 * ORT graph fed p, g, m, v and returning p′, m′, v′ it takes 290–480 ms (ten memory-bound
 * elementwise kernels, then every output copied into a fresh buffer); the loop in adamw.ts
 * takes 125 ms on one thread, and AdamWThreads splits it over the cores (gpt2-124M on 2 cores:
 * ~0.33 s per step for norm + update, against ~6 s for the ORT run at batch 8 × 128).
 */
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { UserError } from '../core/tool.js';
import type { Batch } from '../data/batches.js';
import { writeOnnx } from '../graph/onnx-writer.js';
import type { Architecture, DecoderConfig } from '../models/architecture.js';
import { numel, type Weights } from '../models/tensor.js';
import { addInto, decays } from './adamw.js';
import { AdamWThreads, type OptimizerSlot } from './adamw-threads.js';
import { allocatorTuned } from './allocator-tuning.js';
import { collectGarbage } from './collect-garbage.js';
import { ortError } from './session.js';
import { trainingMemoryBytes } from './training-memory.js';
import { buildTrainingGraph, IGNORE_INDEX } from './training-graph.js';

export interface TrainerOptions {
  /** Rows of one micro-batch (the graph's static B); shorter batches are padded. */
  batchSize: number;
  /** Tokens per row (the graph's static T); shorter rows are padded. */
  seqLength: number;
  /** ORT intra-op threads (default: the number of cores). */
  threads?: number;
  /**
   * AdamW decoupled weight decay (default 0), applied as Hugging Face's Trainer does: to every
   * weight but biases and normalisation weights (1-D tensors); embeddings decay.
   */
  weightDecay?: number;
  /** AdamW β1, β2, ε (default 0.9, 0.999, 1e-8, Hugging Face's defaults). */
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Clip the global gradient norm to this (torch's clip_grad_norm_); 0 = off (default 1.0). */
  gradClip?: number;
}

/** What one optimizer step reports. */
export interface StepResult {
  /** Mean token loss over the step's micro-batches. */
  loss: number;
  /** Global L2 norm of the (accumulated, averaged) gradient before clipping. */
  gradNorm: number;
}

/** AdamW state: the number of steps taken and the moments by parameter name. */
export interface OptimizerState {
  step: number;
  m: Weights;
  v: Weights;
}

/**
 * A parameter: its optimizer slot (weights, moments, gradient, decay), named and shaped for ORT.
 * Each run wraps `data` and `grad` in fresh ORT tensors (no copy): the arrays are replaced
 * whenever they come back from an optimizer worker.
 */
interface Param extends OptimizerSlot {
  name: string;
  shape: number[];
}

const sessionOptions = (threads: number): ort.InferenceSession.SessionOptions => ({
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  // The memory pattern plans one block for every tensor of the step; without it the arena
  // reuses freed tensors as the step goes: peak RSS of a 4-layer GPT-2 step 3.6 → 2.8 GB, at
  // the same speed (bench:train).
  enableMemPattern: false,
  // One cache of freed memory, not two: started as smox starts (allocator-tuning.ts), glibc
  // keeps freed tensors for reuse, and ORT's arena on top of it only adds fragmentation (a
  // 4-layer step's RSS levels off at 2.46 GB without it, 2.61 GB with it, at the same speed).
  // Without the tuning every tensor would be a fresh mmap, and the arena is what reuses them.
  enableCpuMemArena: !allocatorTuned(),
  logSeverityLevel: 3,
});

/** A sequence length the model's position embeddings cover, or a UserError naming the limit. */
export function checkSeqLength(seqLength: number, cfg: DecoderConfig): void {
  if (seqLength > cfg.maxPositions) {
    throw new UserError(`--max_seq_length ${seqLength} is beyond the model's ${cfg.maxPositions} positions; use at most ${cfg.maxPositions}`);
  }
}

function copyWeights(entries: Iterable<[string, number[], Float32Array]>): Weights {
  const w: Weights = new Map();
  for (const [name, shape, data] of entries) w.set(name, { shape: [...shape], data: new Float32Array(data) });
  return w;
}

export class Trainer {
  private stepCount = 0;
  private ranOnce = false;
  private evalSession: ort.InferenceSession | null = null;

  private constructor(
    private readonly arch: Architecture<any>,
    private readonly cfg: DecoderConfig,
    private readonly params: Param[],
    private readonly session: ort.InferenceSession,
    private readonly opts: Required<TrainerOptions>,
    private readonly optimizer: AdamWThreads,
  ) {}

  /**
   * Builds the training graph for (architecture, config) at batchSize × seqLength and opens
   * its session. The weights are copied; `weights()` returns the trained ones. Throws a
   * UserError before any work when the estimated memory exceeds this machine's.
   */
  static async create<C extends DecoderConfig>(arch: Architecture<C>, cfg: C, weights: Weights, options: TrainerOptions): Promise<Trainer> {
    const opts: Required<TrainerOptions> = {
      threads: os.availableParallelism(), weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, gradClip: 1.0, ...options,
    };
    const { batchSize: B, seqLength: T } = opts;
    if (!Number.isInteger(B) || B < 1) throw new UserError(`batch size must be a positive integer, got ${B}`);
    if (!Number.isInteger(T) || T < 1) throw new UserError(`sequence length must be a positive integer, got ${T}`);
    checkSeqLength(T, cfg);
    const specs = arch.parameters(cfg);
    for (const p of specs) {
      const t = weights.get(p.name);
      if (!t) throw new UserError(`the weights lack ${p.name} that a ${cfg.modelType} model with this config.json needs`);
      if (t.shape.join() !== p.shape.join()) throw new UserError(`${p.name} has shape [${t.shape}] but config.json implies [${p.shape}]`);
    }

    const { graph, forwardNodes } = buildTrainingGraph(arch, cfg, { batchSize: B, seqLength: T, gradients: true });
    const paramCount = specs.reduce((n, p) => n + numel(p.shape), 0);
    const need = trainingMemoryBytes(graph, forwardNodes, paramCount);
    const have = os.totalmem();
    if (need > have) {
      const gb = (b: number) => (b / 2 ** 30).toFixed(b < 10 * 2 ** 30 ? 1 : 0);
      throw new UserError(
        `batch ${B} × ${T} needs ~${gb(need)} GB to train this ${cfg.modelType} model (this machine has ${gb(have)} GB); lower --batch_size or --max_seq_length`,
      );
    }

    const params: Param[] = specs.map((p) => {
      const data = new Float32Array(weights.get(p.name)!.data);
      const n = data.length;
      return {
        name: p.name, shape: p.shape, data, m: new Float32Array(n), v: new Float32Array(n), grad: new Float32Array(n),
        weightDecay: decays(p.name, p.shape) ? opts.weightDecay : 0,
      };
    });
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(writeOnnx(graph, { weightsAs: 'inputs', graphName: 'smolbox-train' }), sessionOptions(opts.threads));
    } catch (err) {
      throw ortError(err, 'loading the training graph');
    }
    return new Trainer(arch, cfg, params, session, opts, new AdamWThreads(opts.threads, params.map((p) => p.data.length)));
  }

  /** Seconds the last step spent in ORT runs (forward + backward) and in the optimizer (norm + AdamW). */
  lastStepSeconds = { run: 0, optimizer: 0 };

  /** Optimizer steps taken so far. */
  get steps(): number {
    return this.stepCount;
  }

  /**
   * One optimizer step: gradients summed over the micro-batches and averaged
   * (grad_accum = batches.length), clipped to the global norm `gradClip`, then AdamW at `lr`.
   */
  async step(batches: Batch[], lr: number): Promise<StepResult> {
    if (batches.length === 0) throw new UserError('a training step needs at least one batch');
    if (!this.ranOnce) {
      // Weights the caller dropped (a model built just to be trained) go before the first run
      // takes its memory. Not in create(): its own frame still holds them there. Left for a
      // later collection, they leave a hole that the steps' large tensors fragment: a 4-layer
      // GPT-2's RSS levelled off at 2.33-2.48 GB with them, 2.30-2.44 GB without.
      collectGarbage();
      this.ranOnce = true;
    }
    let lossSum = 0;
    const t0 = performance.now();
    for (const [j, batch] of batches.entries()) lossSum += await this.runMicroBatch(batch, j === 0);
    const k = batches.length;
    const t1 = performance.now();
    const gradNorm = Math.sqrt(await this.optimizer.sumOfSquares(this.params)) / k;
    let scale = 1 / k;
    const { gradClip } = this.opts;
    if (gradClip > 0 && Number.isFinite(gradNorm)) {
      const coef = gradClip / (gradNorm + 1e-6);
      if (coef < 1) scale *= coef;
    }
    this.stepCount++;
    const { beta1, beta2, eps } = this.opts;
    await this.optimizer.update(this.params, this.stepCount, scale, { lr, beta1, beta2, eps });
    // The run's copies of the gradients are garbage now: free them, so the next step reuses their memory.
    collectGarbage();
    this.lastStepSeconds = { run: (t1 - t0) / 1000, optimizer: (performance.now() - t1) / 1000 };
    return { loss: lossSum / k, gradNorm };
  }

  /**
   * Mean token loss over `batch` without updating. Rows beyond the graph's batch size are run
   * in chunks; a short chunk is padded with rows whose targets are ignored.
   */
  async evalLoss(batch: Batch): Promise<number> {
    if (!this.evalSession) {
      const { graph } = buildTrainingGraph(this.arch, this.cfg, { batchSize: this.opts.batchSize, seqLength: this.opts.seqLength, gradients: false });
      try {
        this.evalSession = await ort.InferenceSession.create(writeOnnx(graph, { weightsAs: 'inputs', graphName: 'smolbox-eval' }), sessionOptions(this.opts.threads));
      } catch (err) {
        throw ortError(err, 'loading the evaluation graph');
      }
    }
    const B = this.opts.batchSize;
    const T = batch.seqLength;
    let sum = 0;
    let tokens = 0;
    for (let first = 0; first < batch.batchSize; first += B) {
      const rows = Math.min(B, batch.batchSize - first);
      const chunk: Batch = {
        inputIds: batch.inputIds.subarray(first * T, (first + rows) * T),
        targets: batch.targets.subarray(first * T, (first + rows) * T),
        batchSize: rows,
        seqLength: T,
      };
      const feeds = this.feeds(chunk);
      let out: ort.InferenceSession.OnnxValueMapType;
      try {
        out = await this.evalSession.run(feeds, ['loss']);
      } catch (err) {
        throw ortError(err, 'evaluating');
      }
      const n = chunk.targets.reduce((c, t) => c + (t === IGNORE_INDEX ? 0 : 1), 0);
      sum += Number(out.loss.data[0]) * n;
      tokens += n;
    }
    return tokens > 0 ? sum / tokens : NaN;
  }

  /** The current parameters (copies), Hugging Face names and shapes. */
  weights(): Weights {
    return copyWeights(this.params.map((p) => [p.name, p.shape, p.data]));
  }

  /** AdamW's step count and moments (copies), for checkpoints. */
  optimizerState(): OptimizerState {
    return {
      step: this.stepCount,
      m: copyWeights(this.params.map((p) => [p.name, p.shape, p.m])),
      v: copyWeights(this.params.map((p) => [p.name, p.shape, p.v])),
    };
  }

  /** Restores `optimizerState()` output; every parameter's moments must be present with its shape. */
  loadOptimizerState(s: OptimizerState): void {
    if (!Number.isInteger(s.step) || s.step < 0) throw new UserError(`optimizer state: step must be a non-negative integer, got ${s.step}`);
    for (const p of this.params) {
      for (const [which, w] of [['m', s.m], ['v', s.v]] as const) {
        const t = w.get(p.name);
        if (!t || t.shape.join() !== p.shape.join()) {
          throw new UserError(`optimizer state lacks ${which} for ${p.name} [${p.shape}] (found ${t ? `[${t.shape}]` : 'none'}); it belongs to another model`);
        }
      }
    }
    for (const p of this.params) {
      p.m.set(s.m.get(p.name)!.data);
      p.v.set(s.v.get(p.name)!.data);
    }
    this.stepCount = s.step;
  }

  /** Frees the native sessions. */
  async release(): Promise<void> {
    await this.optimizer.close();
    await this.session.release();
    await this.evalSession?.release();
    this.evalSession = null;
  }

  /**
   * One forward and backward pass; returns its loss. The first micro-batch's gradients go
   * straight into the `grad` buffers, later ones are added to them.
   *
   * A function of its own so that the run's outputs die with its frame: onnxruntime-node hands
   * back a copy of every output, and a variable of step()'s own that held them stayed reachable
   * through the collection at the end of the step (V8 scans the interpreter frame's registers,
   * dead ones too): a whole set of gradients (2 GB for a Qwen2.5-0.5B) lived on through the
   * next step's run.
   */
  private async runMicroBatch(batch: Batch, first: boolean): Promise<number> {
    const feeds = this.feeds(batch);
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run(feeds, first ? this.gradientFetches() : undefined);
    } catch (err) {
      throw ortError(err, 'running a training step');
    }
    if (!first) for (const p of this.params) addInto(p.grad, out[`grad.${p.name}`].data as Float32Array);
    return Number(out.loss.data[0]);
  }

  /** Every output of the training run, each gradient into its parameter's `grad` (ORT writes there). */
  private gradientFetches(): Record<string, ort.Tensor | null> {
    const fetches: Record<string, ort.Tensor | null> = {};
    for (const name of this.session.outputNames) fetches[name] = null;
    for (const p of this.params) fetches[`grad.${p.name}`] = new ort.Tensor('float32', p.grad, p.shape);
    return fetches;
  }

  /** input_ids / targets as int64 [B, T] and [B·T], padded to the graph's shape, plus every weight. */
  private feeds(batch: Batch): Record<string, ort.Tensor> {
    const { batchSize: B, seqLength: T } = this.opts;
    const { batchSize: rows, seqLength: cols } = batch;
    if (rows > B || cols > T) {
      throw new UserError(`a batch of ${rows} × ${cols} tokens does not fit the trainer's ${B} × ${T}; make batches at most that size`);
    }
    if (batch.inputIds.length !== rows * cols || batch.targets.length !== rows * cols) {
      throw new UserError(`a batch declared ${rows} × ${cols} holds ${batch.inputIds.length} input ids and ${batch.targets.length} targets`);
    }
    const V = this.cfg.vocabSize;
    const ids = new BigInt64Array(B * T);
    const targets = new BigInt64Array(B * T).fill(BigInt(IGNORE_INDEX));
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const id = batch.inputIds[r * cols + c];
        const target = batch.targets[r * cols + c];
        if (!(id >= 0 && id < V) || !(target === IGNORE_INDEX || (target >= 0 && target < V))) {
          throw new UserError(`token id ${id >= 0 && id < V ? target : id} is outside the model's vocabulary (0..${V - 1}); the tokenizer does not match the model`);
        }
        ids[r * T + c] = BigInt(id);
        targets[r * T + c] = BigInt(target);
      }
    }
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [B, T]),
      targets: new ort.Tensor('int64', targets, [B * T]),
    };
    for (const p of this.params) feeds[p.name] = new ort.Tensor('float32', p.data, p.shape);
    return feeds;
  }
}
