/**
 * The finetuner under kill -9 (issue 12 item 4): a checkpoint is one directory holding its
 * training state, swapped in whole, and a kill between the swap's two renames is undone by the
 * next start. At each chosen disk operation of a run that checkpoints every step, the run is
 * killed; then `--resume` must continue from what is on disk and end with the weights of an
 * uninterrupted run (or, killed before any checkpoint, say there is nothing to resume).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { readCheckpoint } from '../../src/models/checkpoint.js';
import { run, writeTinyModel } from '../tools/fixtures.js';
import { countOps, faultAt, Killed, tally } from './inject.js';

const engine = new Engine({ threads: 1 });
let cwd: string;
beforeAll(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-ckpt-kill-'));
  writeTinyModel(path.join(cwd, 'tiny'));
  fs.writeFileSync(path.join(cwd, 'train.txt'), 'the cat sat on the mat. the dog sat on the log. '.repeat(40));
});
afterAll(async () => {
  await engine.release();
  fs.rmSync(cwd, { recursive: true, force: true });
});

const LINE = ['train/finetuner', '--model-path', 'tiny', '--dataset-path', 'train.txt', '--max-seq-length', '32', '--batch-size', '4', '--learning-rate', '0.01', '--seed', '3', '--val-fraction', '0.1', '--max-steps', '3', '--save-every', '1'];

function maxDiff(a: Map<string, { data: Float32Array }>, b: Map<string, { data: Float32Array }>): number {
  let d = 0;
  for (const [k, t] of a) {
    const u = b.get(k)!.data;
    for (let i = 0; i < t.data.length; i++) d = Math.max(d, Math.abs(t.data[i] - u[i]));
  }
  return d;
}

describe('a finetuner killed at any disk operation resumes to the same weights', () => {
  it('at every rename, removal and copy of its checkpoints and at points inside their files', async () => {
    const whole = await run(cwd, engine, [...LINE, '--output-model-path', 'whole']);
    expect(whole.ok, whole.error).toBe(true);
    const expected = readCheckpoint(path.join(cwd, 'whole')).weights;

    const trace: string[] = [];
    await countOps(async () => {
      const r = await run(cwd, engine, [...LINE, '--output-model-path', 'probe']);
      if (!r.ok) throw new Error(r.error);
    }, trace);
    // Chosen, not drawn: from the first checkpoint's build on, every operation that moves or
    // removes a checkpoint directory or a file in it, every 60th operation besides (inside the
    // weights and optimizer files), and two before any checkpoint.
    const first = trace.findIndex((t) => /^mkdirSync .*\/\.probe\.tmp-/.test(t));
    const points = trace.flatMap((t, i) => (i >= first && ((/probe/.test(t) && /^(rename|rm|rmdir)Sync/.test(t)) || i % 60 === 0)) || i === 0 || i === first - 1 ? [i + 1] : []);
    expect(points.length).toBeGreaterThan(20);

    let lost = 0;
    let nothingToResume = 0;
    for (const k of points) {
      const out = path.join(cwd, 'out');
      fs.rmSync(out, { recursive: true, force: true });
      for (const f of fs.readdirSync(cwd)) if (f.startsWith('.out.')) fs.rmSync(path.join(cwd, f), { recursive: true });
      const { err } = await faultAt(k, () => run(cwd, engine, [...LINE, '--output-model-path', 'out']).then((r) => {
        if (!r.ok) throw new Killed(r.error);
      }), { kill: true });
      expect(err, `op ${k}: ${trace[k - 1]}`).toBeInstanceOf(Killed);
      // A dead process's locks are broken by the next smox (its pid is gone); this one is alive.
      fs.rmSync(path.join(cwd, '.smolbox', 'state.lock'), { force: true });
      fs.rmSync(path.join(cwd, '.out.lock'), { force: true });
      // A killed run's state may still name the previous output: the test's next start names it.
      const finished = fs.existsSync(path.join(out, 'config.json')) && !fs.existsSync(path.join(out, 'training_state'));
      if (finished && readCheckpoint(out).provenance?.metrics?.steps === 3) {
        if (maxDiff(expected, readCheckpoint(out).weights) > 1e-6) lost++;
        continue;
      }
      const resumed = await run(cwd, engine, [...LINE, '--resume', '--output-model-path', 'out']);
      if (!resumed.ok) {
        // Only before the first checkpoint was swapped in is there nothing to resume.
        expect(resumed.error, `op ${k}: ${trace[k - 1]}`).toMatch(/--resume: .* holds no interrupted run/);
        expect(trace.slice(0, k - 1).some((t) => /^renameSync .*\/\.probe\.tmp-\d+-[0-9a-f]{8}$/.test(t)), `op ${k}: a checkpoint existed`).toBe(false);
        nothingToResume++;
        continue;
      }
      if (maxDiff(expected, readCheckpoint(out).weights) > 1e-6) lost++;
      expect(fs.readdirSync(cwd).filter((f) => f.startsWith('.out.')), `op ${k}: debris`).toEqual([]);
    }
    expect(lost).toBe(0);
    // Killed at op k, op k never ran: up to and including the first swap, nothing was saved.
    const swap = trace.findIndex((t) => /^renameSync .*\/\.probe\.tmp-\d+-[0-9a-f]{8}$/.test(t)) + 1;
    expect(nothingToResume).toBe(points.filter((k) => k <= swap).length);
    tally('finetuner kill', { cases: points.length, faults: points.length, lost });
  });

  it('an output a step wrote, since deleted, is named missing, not downloaded as a hub id', async () => {
    fs.rmSync(path.join(cwd, 'whole'), { recursive: true });
    const r = await run(cwd, engine, ['infer/sampler', '--model-path', 'whole', '--max-new-tokens', '2']);
    expect(r.error).toMatch(/^no such directory: whole \(written by train\/finetuner at \S+\); it was moved or deleted/);
  });
});
