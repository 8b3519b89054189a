/**
 * Batches of packed blocks. Training draws blocks in a seeded random order, epoch after epoch
 * (a fresh permutation per epoch), and batch `step` is a pure function of (seed, step): a
 * resumed run asks for step k and gets exactly the batch the uninterrupted run saw.
 * Evaluation walks the blocks in order.
 *
 * Shapes: B = batch size, T = blockSize − 1 (max_seq_length); inputIds and targets are
 * row-major [B, T], targets[b, t] = inputIds[b, t + 1] within the block.
 */
import { Random } from '../core/random.js';
import type { PackedTokens } from './pack.js';

/** One batch, flattened row-major [B, T]. */
export interface Batch {
  inputIds: Int32Array;
  targets: Int32Array;
  /** B: rows in this batch (an evaluation batch at the end may be short). */
  batchSize: number;
  /** T: tokens per row. */
  seqLength: number;
}

/** Optimizer steps that cover `epochs` passes over `blocks` blocks, `batchSize` per step. */
export function stepsForEpochs(blocks: number, batchSize: number, epochs: number): number {
  return Math.max(1, Math.ceil((epochs * blocks) / batchSize));
}

/** A 32-bit seed for epoch `epoch` of run `seed` (splitmix-style mixing, so nearby pairs differ). */
function epochSeed(seed: number, epoch: number): number {
  let h = (seed ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Fill row `row` of a batch from block `block`. */
function copyBlock(packed: PackedTokens, block: number, row: number, inputIds: Int32Array, targets: Int32Array): void {
  const T = packed.blockSize - 1;
  const start = block * T;
  inputIds.set(packed.tokens.subarray(start, start + T), row * T);
  targets.set(packed.tokens.subarray(start + 1, start + 1 + T), row * T);
}

/** Seeded, resumable training batches over packed blocks. */
export class BatchSampler {
  private permEpoch = -1;
  private perm = new Uint32Array(0);

  constructor(
    readonly packed: PackedTokens,
    readonly batchSize: number,
    readonly seed: number,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    if (packed.blocks < 1) throw new RangeError('no blocks to sample from');
  }

  /** The block order of one epoch: a Fisher–Yates shuffle seeded by (seed, epoch). */
  epochOrder(epoch: number): Uint32Array {
    if (epoch !== this.permEpoch) {
      const n = this.packed.blocks;
      const perm = new Uint32Array(n);
      for (let i = 0; i < n; i++) perm[i] = i;
      const rng = new Random(epochSeed(this.seed, epoch));
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
      }
      this.perm = perm;
      this.permEpoch = epoch;
    }
    return this.perm;
  }

  /** Epochs completed before `step` starts (fractional). */
  epochAt(step: number): number {
    return (step * this.batchSize) / this.packed.blocks;
  }

  /** The batch of step `step` (0-based): draws k = step·B … step·B + B − 1 of the epoch-by-epoch order. */
  batch(step: number): Batch {
    if (!Number.isInteger(step) || step < 0) throw new RangeError(`step must be a non-negative integer, got ${step}`);
    const B = this.batchSize;
    const T = this.packed.blockSize - 1;
    const n = this.packed.blocks;
    const inputIds = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let row = 0; row < B; row++) {
      const draw = step * B + row;
      const block = this.epochOrder(Math.floor(draw / n))[draw % n];
      copyBlock(this.packed, block, row, inputIds, targets);
    }
    return { inputIds, targets, batchSize: B, seqLength: T };
  }

  /** Batches from `step` on, for ever (the caller stops at its step budget). */
  *from(step = 0): Generator<Batch> {
    for (let s = step; ; s++) yield this.batch(s);
  }
}

/** Evaluation batches: every block once, in order; the last batch holds the remainder. */
export function* evalBatches(packed: PackedTokens, batchSize: number): Generator<Batch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const T = packed.blockSize - 1;
  for (let first = 0; first < packed.blocks; first += batchSize) {
    const B = Math.min(batchSize, packed.blocks - first);
    const inputIds = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let row = 0; row < B; row++) copyBlock(packed, first + row, row, inputIds, targets);
    yield { inputIds, targets, batchSize: B, seqLength: T };
  }
}
