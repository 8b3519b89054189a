/**
 * The Trainer on tiny models: loss goes down, gradient accumulation equals a full batch,
 * resume reproduces an uninterrupted run exactly, evaluation handles short batches, and an
 * impossible batch fails before any work.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it, vi } from 'vitest';
import { Random } from '../../src/core/random.js';
import { UserError } from '../../src/core/tool.js';
import type { Batch } from '../../src/data/batches.js';
import { adamwUpdate, decays } from '../../src/runtime/adamw.js';
import { collectGarbage } from '../../src/runtime/collect-garbage.js';
import { Trainer } from '../../src/runtime/trainer.js';
import { maxAbsDiff, tinyModel, TINY_CONFIGS } from '../models/tiny.js';

const T = 6;

/** B rows of a repeating pattern per row (learnable), from a seeded RNG. */
function makeBatch(rows: number, vocab: number, seed: number): Batch {
  const rng = new Random(seed);
  const inputIds = new Int32Array(rows * T);
  const targets = new Int32Array(rows * T);
  for (let r = 0; r < rows; r++) {
    const period = 2 + rng.int(3);
    const base = Array.from({ length: period }, () => rng.int(vocab));
    for (let t = 0; t < T; t++) {
      inputIds[r * T + t] = base[t % period];
      targets[r * T + t] = base[(t + 1) % period];
    }
  }
  return { inputIds, targets, batchSize: rows, seqLength: T };
}

function rowsOf(b: Batch, first: number, count: number): Batch {
  return {
    inputIds: b.inputIds.slice(first * T, (first + count) * T),
    targets: b.targets.slice(first * T, (first + count) * T),
    batchSize: count,
    seqLength: T,
  };
}

function maxWeightDiff(a: Map<string, { data: Float32Array }>, b: Map<string, { data: Float32Array }>): number {
  let m = 0;
  for (const [name, t] of a) m = Math.max(m, maxAbsDiff(t.data, b.get(name)!.data));
  return m;
}

describe('Trainer', () => {
  it.each([['gpt2 (tied)'], ['llama (GQA, untied)'], ['llama (tied, llama3 rope, biases)']])('%s: a few AdamW steps lower the loss on a fixed batch', async (name) => {
    const { arch, cfg, weights } = tinyModel(TINY_CONFIGS[name], 2);
    const trainer = await Trainer.create(arch, cfg, weights, { batchSize: 4, seqLength: T, threads: 1 });
    const batch = makeBatch(4, cfg.vocabSize, 5);
    const before = await trainer.evalLoss(batch);
    const losses: number[] = [];
    for (let i = 0; i < 8; i++) losses.push((await trainer.step([batch], 3e-3)).loss);
    const after = await trainer.evalLoss(batch);
    await trainer.release();
    expect(losses[0]).toBeCloseTo(before, 4); // the first step's loss is the loss before any update
    expect(after).toBeLessThan(before * 0.8);
    expect(losses.at(-1)!).toBeLessThan(losses[0]);
    expect(trainer.steps).toBe(8);
  });

  it('gradient accumulation over two half batches equals one full-batch step', async () => {
    const { arch, cfg, weights } = tinyModel(TINY_CONFIGS['gpt2 (tied)'], 4);
    const batch = makeBatch(4, cfg.vocabSize, 6);
    // ε = 1 makes Adam's step ≈ lr·g for small g, so weights expose the gradients themselves
    // (with ε = 1e-8 a gradient of rounding-noise size would move a weight by ±lr).
    const opts = { seqLength: T, threads: 1, weightDecay: 0.1, eps: 1, gradClip: 0 };
    const full = await Trainer.create(arch, cfg, weights, { ...opts, batchSize: 4 });
    const half = await Trainer.create(arch, cfg, weights, { ...opts, batchSize: 2 });
    for (let i = 0; i < 2; i++) {
      const a = await full.step([batch], 0.5);
      const b = await half.step([rowsOf(batch, 0, 2), rowsOf(batch, 2, 2)], 0.5);
      expect(b.loss).toBeCloseTo(a.loss, 5);
      expect(b.gradNorm).toBeCloseTo(a.gradNorm, 4);
    }
    const diff = maxWeightDiff(full.weights(), half.weights());
    const moved = maxWeightDiff(full.weights(), weights);
    await full.release();
    await half.release();
    expect(moved).toBeGreaterThan(1e-2);
    // Sums in a different order: float32 rounding only.
    expect(diff).toBeLessThan(2e-6);
  });

  it('clips the global gradient norm', async () => {
    const { arch, cfg, weights } = tinyModel(TINY_CONFIGS['gpt2 (tied)'], 4);
    const batch = makeBatch(2, cfg.vocabSize, 7);
    const clipped = await Trainer.create(arch, cfg, weights, { batchSize: 2, seqLength: T, threads: 1, gradClip: 1e-3 });
    const free = await Trainer.create(arch, cfg, weights, { batchSize: 2, seqLength: T, threads: 1, gradClip: 0 });
    const a = await clipped.step([batch], 1e-2);
    const b = await free.step([batch], 1e-2);
    expect(a.gradNorm).toBeCloseTo(b.gradNorm, 5); // reported before clipping
    expect(a.gradNorm).toBeGreaterThan(1e-3);
    // Adam's first step is ≈ lr·sign(g) whatever the scale, so compare the second step.
    await clipped.step([batch], 1e-2);
    await free.step([batch], 1e-2);
    expect(maxWeightDiff(clipped.weights(), free.weights())).toBeGreaterThan(1e-5);
    await clipped.release();
    await free.release();
  });

  it('resumes exactly: restored weights and moments continue as the uninterrupted run', async () => {
    const { arch, cfg, weights } = tinyModel(TINY_CONFIGS['llama (GQA, untied)'], 8);
    const batches = [0, 1, 2, 3].map((s) => makeBatch(2, cfg.vocabSize, 20 + s));
    const opts = { batchSize: 2, seqLength: T, weightDecay: 0.01 };
    const straight = await Trainer.create(arch, cfg, weights, opts);
    for (const b of batches) await straight.step([b], 2e-3);

    const first = await Trainer.create(arch, cfg, weights, opts);
    await first.step([batches[0]], 2e-3);
    await first.step([batches[1]], 2e-3);
    const saved = { weights: first.weights(), state: first.optimizerState() };
    await first.release();
    expect(saved.state.step).toBe(2);

    const resumed = await Trainer.create(arch, cfg, saved.weights, opts);
    resumed.loadOptimizerState(saved.state);
    await resumed.step([batches[2]], 2e-3);
    await resumed.step([batches[3]], 2e-3);
    const a = straight.weights();
    const b = resumed.weights();
    for (const [name, t] of a) expect(b.get(name)!.data, name).toEqual(t.data);
    expect(resumed.optimizerState().m.get('lm_head.weight')!.data).toEqual(straight.optimizerState().m.get('lm_head.weight')!.data);
    await straight.release();
    await resumed.release();
  });

  it('rejects optimizer state of another model', async () => {
    const { arch, cfg, weights } = tinyModel(TINY_CONFIGS['gpt2 (tied)'], 1);
    const trainer = await Trainer.create(arch, cfg, weights, { batchSize: 1, seqLength: T });
    const state = trainer.optimizerState();
    state.m.delete('transformer.h.1.ln_2.bias');
    expect(() => trainer.loadOptimizerState(state)).toThrow(/lacks m for transformer\.h\.1\.ln_2\.bias/);
    await trainer.release();
  });

  it('evaluates a short last batch and a batch larger than the graph', async () => {
    const { arch, cfg, weights } = tinyModel(TINY_CONFIGS['llama (tied, llama3 rope, biases)'], 3);
    const batch = makeBatch(5, cfg.vocabSize, 9);
    const wide = await Trainer.create(arch, cfg, weights, { batchSize: 5, seqLength: T, threads: 1 });
    const narrow = await Trainer.create(arch, cfg, weights, { batchSize: 2, seqLength: T, threads: 1 });
    const all = await wide.evalLoss(batch);
    expect(await narrow.evalLoss(batch)).toBeCloseTo(all, 5); // chunks 2 + 2 + 1 (padded)
    const perRow = await Promise.all([0, 1, 2, 3, 4].map((r) => narrow.evalLoss(rowsOf(batch, r, 1))));
    expect(perRow.reduce((a, b) => a + b, 0) / 5).toBeCloseTo(all, 5);
    await wide.release();
    await narrow.release();
  });

  it('refuses a batch that cannot fit in memory before building a session', async () => {
    const { arch, cfg, weights } = tinyModel({ ...TINY_CONFIGS['gpt2 (tied)'], n_positions: 4096 }, 1);
    const create = Trainer.create(arch, cfg, weights, { batchSize: 64, seqLength: 4096 });
    await expect(create).rejects.toThrow(UserError);
    await expect(Trainer.create(arch, cfg, weights, { batchSize: 64, seqLength: 4096 })).rejects.toThrow(
      /^batch 64 × 4096 needs ~\d+ GB to train this gpt2 model \(this machine has [\d.]+ GB\); lower --batch_size or --max_seq_length$/,
    );
  });

  it('frees weights its caller dropped before the first run takes its memory', async () => {
    // The caller builds a model only to train it and keeps nothing but a weak reference.
    const start = async () => {
      const { arch, cfg, weights } = tinyModel(TINY_CONFIGS['gpt2 (tied)'], 1);
      return { trainer: await Trainer.create(arch, cfg, weights, { batchSize: 1, seqLength: T }), dropped: new WeakRef(weights), vocab: cfg.vocabSize };
    };
    const { trainer, dropped, vocab } = await start();
    // V8 keeps a WeakRef's target alive until the task that made the WeakRef has ended.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const aliveAtRuns: boolean[] = [];
    const original = ort.InferenceSession.prototype.run;
    const run = vi.spyOn(ort.InferenceSession.prototype, 'run').mockImplementation(function (this: ort.InferenceSession, ...args: unknown[]) {
      aliveAtRuns.push(dropped.deref() !== undefined);
      return (original as (...a: unknown[]) => ReturnType<typeof original>).apply(this, args);
    });
    try {
      await trainer.step([makeBatch(1, vocab, 1)], 1e-3);
    } finally {
      run.mockRestore();
      await trainer.release();
    }
    expect(aliveAtRuns).toEqual([false]);
  });

  it("lets a step's copies of the gradients go with the step", async () => {
    // onnxruntime-node copies every output of a run; after the step only the trainer's own
    // arrays (weights, moments and its gradient buffers) may stay: no second set of gradients
    // may live on into the next step's run.
    const raw = { ...TINY_CONFIGS['gpt2 (tied)'], vocab_size: 2000, n_embd: 64 };
    const { arch, cfg, weights } = tinyModel(raw, 1);
    const gradientBytes = [...weights.values()].reduce((n, t) => n + t.data.byteLength, 0);
    const trainer = await Trainer.create(arch, cfg, weights, { batchSize: 2, seqLength: T, threads: 2 });
    const batch = makeBatch(2, cfg.vocabSize, 1);
    await trainer.step([batch], 1e-3);
    collectGarbage();
    const before = process.memoryUsage().arrayBuffers;
    await trainer.step([batch], 1e-3); // collects its garbage at its end
    const grown = process.memoryUsage().arrayBuffers - before;
    await trainer.release();
    expect(grown).toBeLessThan(gradientBytes / 4);
  });

  it('rejects token ids outside the vocabulary and oversize batches', async () => {
    const { arch, cfg, weights } = tinyModel(TINY_CONFIGS['gpt2 (tied)'], 1);
    const trainer = await Trainer.create(arch, cfg, weights, { batchSize: 1, seqLength: T });
    const bad = makeBatch(1, cfg.vocabSize, 1);
    bad.inputIds[2] = cfg.vocabSize;
    await expect(trainer.step([bad], 1e-3)).rejects.toThrow(/token id 61 is outside the model's vocabulary/);
    await expect(trainer.step([makeBatch(2, cfg.vocabSize, 1)], 1e-3)).rejects.toThrow(/does not fit the trainer's 1 × 6/);
    await trainer.release();
  });
});

describe('AdamW', () => {
  it('matches the PyTorch update by hand for two steps', () => {
    const p = Float32Array.of(0.5, -1, 2);
    const g = Float32Array.of(0.1, -0.2, 0);
    const m = new Float32Array(3);
    const v = new Float32Array(3);
    const h = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };
    const ref = Array.from(p, Number);
    const rm = [0, 0, 0];
    const rv = [0, 0, 0];
    for (let t = 1; t <= 2; t++) {
      adamwUpdate(p, g, m, v, t, 0.5, h);
      for (let i = 0; i < 3; i++) {
        const gi = g[i] * 0.5;
        ref[i] -= h.lr * h.weightDecay * ref[i];
        rm[i] = 0.9 * rm[i] + 0.1 * gi;
        rv[i] = 0.999 * rv[i] + 0.001 * gi * gi;
        ref[i] -= (h.lr * (rm[i] / (1 - 0.9 ** t))) / (Math.sqrt(rv[i] / (1 - 0.999 ** t)) + h.eps);
      }
    }
    for (let i = 0; i < 3; i++) expect(p[i]).toBeCloseTo(ref[i], 6);
    expect(p[2]).toBeCloseTo(2 * (1 - 0.001) ** 2, 6); // zero gradient: decay only
  });

  it('decays weights but not biases or norm weights', () => {
    expect(decays('transformer.h.0.attn.c_attn.weight', [4, 12])).toBe(true);
    expect(decays('transformer.wte.weight', [10, 4])).toBe(true);
    expect(decays('transformer.h.0.attn.c_attn.bias', [12])).toBe(false);
    expect(decays('model.layers.0.input_layernorm.weight', [4])).toBe(false);
  });
});
