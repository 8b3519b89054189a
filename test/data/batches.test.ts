import { describe, expect, it } from 'vitest';
import { BatchSampler, evalBatches, stepsForEpochs } from '../../src/data/batches.js';
import { packTokens, type PackedTokens } from '../../src/data/pack.js';

/** 10 blocks of T = 4 over the stream 0, 1, 2, …: block i's inputs start at 4i. */
const packed: PackedTokens = packTokens(Int32Array.from({ length: 41 }, (_, i) => i), 4);

/** The block each row of a batch came from (its first input id / T). */
const rowsOf = (inputIds: Int32Array, T = 4) => Array.from({ length: inputIds.length / T }, (_, r) => inputIds[r * T] / T);

describe('BatchSampler', () => {
  it('yields inputs and targets shifted by one within each block', () => {
    const b = new BatchSampler(packed, 3, 7).batch(0);
    expect(b.batchSize).toBe(3);
    expect(b.seqLength).toBe(4);
    for (let r = 0; r < 3; r++) {
      const first = b.inputIds[r * 4];
      expect([...b.inputIds.subarray(r * 4, r * 4 + 4)]).toEqual([first, first + 1, first + 2, first + 3]);
      expect([...b.targets.subarray(r * 4, r * 4 + 4)]).toEqual([first + 1, first + 2, first + 3, first + 4]);
    }
  });

  it('visits every block exactly once per epoch, in an order that changes between epochs', () => {
    const s = new BatchSampler(packed, 5, 1);
    const epoch0 = [...rowsOf(s.batch(0).inputIds), ...rowsOf(s.batch(1).inputIds)];
    const epoch1 = [...rowsOf(s.batch(2).inputIds), ...rowsOf(s.batch(3).inputIds)];
    expect([...epoch0].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...epoch1].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(epoch0).not.toEqual(epoch1);
    expect(epoch0).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const take = (seed: number, n: number) => {
      const out: number[][] = [];
      for (const b of new BatchSampler(packed, 4, seed).from(0)) {
        out.push(rowsOf(b.inputIds));
        if (out.length === n) break;
      }
      return out;
    };
    expect(take(42, 6)).toEqual(take(42, 6));
    expect(take(42, 6)).not.toEqual(take(43, 6));
  });

  it('resumes: batches from step k equal the uninterrupted run from step k, across epoch edges', () => {
    const full = new BatchSampler(packed, 3, 9);
    const expected = Array.from({ length: 12 }, (_, s) => full.batch(s));
    const resumed = new BatchSampler(packed, 3, 9);
    const it = resumed.from(7);
    for (let s = 7; s < 12; s++) {
      const b = it.next().value!;
      expect(b.inputIds).toEqual(expected[s].inputIds);
      expect(b.targets).toEqual(expected[s].targets);
    }
  });

  it('counts steps and epochs', () => {
    expect(stepsForEpochs(10, 3, 1)).toBe(4);
    expect(stepsForEpochs(10, 3, 2.5)).toBe(9);
    expect(new BatchSampler(packed, 5, 0).epochAt(4)).toBe(2);
  });
});

describe('evalBatches', () => {
  it('walks every block once in order, the last batch short', () => {
    const batches = [...evalBatches(packed, 4)];
    expect(batches.map((b) => b.batchSize)).toEqual([4, 4, 2]);
    expect(batches.flatMap((b) => rowsOf(b.inputIds))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(batches[2].targets.length).toBe(8);
    expect(batches[2].targets[7]).toBe(40);
  });
});
