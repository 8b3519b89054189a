import { describe, expect, it } from 'vitest';
import { assignSplits, splitOfPath } from '../../src/data/splits.js';

describe('splitOfPath', () => {
  it.each([
    ['train.txt', 'train'],
    ['training_set.jsonl', 'train'],
    ['valid.csv', 'validation'],
    ['dev.jsonl', 'validation'],
    ['my-val-set.parquet', 'validation'],
    ['eval.json', 'test'],
    ['default/validation/0000.parquet', 'validation'],
    ['data/test-00000-of-00001.parquet', 'test'],
    ['train/shard_eval.txt', 'test'], // the deepest component that names a split wins
    ['latest.txt', undefined],
    ['contest/entries.txt', undefined],
  ])('%s → %s', (rel, split) => {
    expect(splitOfPath(rel)).toBe(split);
  });
});

describe('assignSplits', () => {
  it('puts everything in train when nothing names a split, else leaves the unnamed out', () => {
    expect(assignSplits('/d', ['/d/a.txt', '/d/b.txt'])).toEqual({ splits: { train: ['/d/a.txt', '/d/b.txt'] }, ignored: [] });
    expect(assignSplits('/d', ['/d/train.txt', '/d/b.txt', '/d/test.txt'])).toEqual({
      splits: { train: ['/d/train.txt'], test: ['/d/test.txt'] },
      ignored: ['/d/b.txt'],
    });
  });
});
