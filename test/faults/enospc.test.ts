/**
 * A full disk at every disk operation of each writer (one ENOSPC at operation k, the rest
 * succeeding): the step fails in one line naming a path and "disk is full", or — when the
 * failure hit only cleanup after the new version was in place — succeeds; the previous output
 * stays whole, no temp debris is left beside it, and the state stays readable.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHistory } from '../../src/core/history.js';
import { readState } from '../../src/core/state.js';
import { Engine } from '../../src/engine/engine.js';
import { readCheckpoint } from '../../src/models/checkpoint.js';
import { hasTrainingState, readTrainingState } from '../../src/runtime/training-state.js';
import { run, writeTinyModel } from '../tools/fixtures.js';
import { countOps, faultAt, snapshot, tally, WRITE_OPS } from './inject.js';

const engine = new Engine({ threads: 1 });
let cwd: string;
beforeAll(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-enospc-'));
  writeTinyModel(path.join(cwd, 'tiny'));
  fs.writeFileSync(path.join(cwd, 'train.txt'), 'the cat sat on the mat. the dog sat on the log. '.repeat(40));
});
afterAll(async () => {
  await engine.release();
  fs.rmSync(cwd, { recursive: true, force: true });
});

const WRITERS: [string, string[], string][] = [
  ['transform/pruner', ['transform/pruner', '--model-path', 'tiny', '--output-model-path', 'pruned'], 'pruned'],
  ['io/exporter hf', ['io/exporter', '--model-path', 'tiny', '--export-format', 'hf', '--export-model-path', 'hf-out'], 'hf-out'],
  ['io/exporter gguf', ['io/exporter', '--model-path', 'tiny', '--export-format', 'gguf', '--export-model-path', 'e.gguf'], 'e.gguf'],
  ['train/finetuner', ['train/finetuner', '--model-path', 'tiny', '--dataset-path', 'train.txt', '--max-seq-length', '32', '--batch-size', '4', '--seed', '3', '--max-steps', '2', '--save-every', '1', '--output-model-path', 'ft'], 'ft'],
];

/** A model directory that loads, with training state (if any) from the same step as its weights. */
function whole(dir: string): boolean {
  try {
    const ckpt = readCheckpoint(dir);
    return !hasTrainingState(dir) || readTrainingState(dir).state.step === ckpt.provenance?.metrics?.step;
  } catch {
    return false;
  }
}

const ONE_LINE = /^cannot (write|lock) \S+: the disk is full \(ENOSPC\); free some space or write somewhere else$/;

describe('a full disk at every disk operation', () => {
  it.each(WRITERS)('%s: one line naming the path, the previous output whole, no debris', async (_name, line, target) => {
    const step = async () => {
      const r = await run(cwd, engine, line);
      if (!r.ok) throw new Error(r.error);
    };
    await step();
    const total = await countOps(step, undefined, WRITE_OPS);
    const full = path.join(cwd, target);
    let lost = 0;
    let faults = 0;
    const failures: string[] = [];
    // About 30 points spread over the step, and every one of the last 12 (renames, commit, cleanup).
    const stride = Math.max(1, Math.floor(total / 30));
    for (let k = 1; k <= total; k += k > total - 12 ? 1 : stride) {
      const before = snapshot(full);
      const records = readHistory(cwd).length;
      const { err } = await faultAt(k, step, { code: 'ENOSPC' }, undefined, WRITE_OPS);
      faults++;
      if (err) expect((err as Error).message, `op ${k}`).toMatch(ONE_LINE);
      // The output is whole: the old one, the new one (the failure came after its swap, in the
      // commit), or the run's last checkpoint with its training state (it failed at a later one).
      if (target.endsWith('.gguf') ? JSON.stringify(snapshot(full)) !== JSON.stringify(before) : !whole(full)) {
        lost++;
        failures.push(`op ${k}: ${(err as Error | undefined)?.message}`);
      }
      // After a success, a failed removal of the replaced copy may leave it: the next write removes it.
      if (err) expect(fs.readdirSync(cwd).filter((f) => f.startsWith(`.${target}.`) && !f.endsWith('.lock')), `op ${k}: debris`).toEqual([]);
      expect(() => readState(cwd), `op ${k}`).not.toThrow();
      expect(readHistory(cwd).length, `op ${k}: a record per step`).toBeGreaterThanOrEqual(records);
    }
    expect(failures).toEqual([]);
    tally(`ENOSPC ${_name}`, { cases: faults, faults, lost });
  });
});
