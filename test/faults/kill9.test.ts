/**
 * Real kill -9 (SIGKILL, no cleanup, no exit handlers) of the smox process at disk operations
 * the test chooses: every rename and removal of each writer, and a few points inside files.
 * After each kill the next smox must find every file whole: the previous version or the new
 * one, never a mix, never nothing (a directory left aside by a kill is restored by its reader).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readState } from '../../src/core/state.js';
import { readCheckpoint } from '../../src/models/checkpoint.js';
import { resolveModelSource } from '../../src/models/source.js';
import { hasTrainingState, readTrainingState } from '../../src/runtime/training-state.js';
import { cliPath, ensureBuilt, repoRoot } from '../cli/built-cli.js';
import { writeTinyModel } from '../tools/fixtures.js';
import { snapshot, tally } from './inject.js';

const PRELOAD = pathToFileURL(path.join(repoRoot, 'test', 'faults', 'kill-at.mjs')).href;
let cwd: string;
beforeAll(() => {
  ensureBuilt();
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-kill9-'));
  writeTinyModel(path.join(cwd, 'tiny'));
  fs.writeFileSync(path.join(cwd, 'train.txt'), 'the cat sat on the mat. the dog sat on the log. '.repeat(40));
}, 300_000);
afterAll(() => fs.rmSync(cwd, { recursive: true, force: true }));

/** Runs smox with the kill preloaded; `at` kills before that disk operation, `trace` lists them. */
function smox(args: string[], opts: { at?: number; trace?: string } = {}): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, NO_COLOR: '1', ...(opts.at ? { SMOLBOX_KILL_AT: String(opts.at) } : {}), ...(opts.trace ? { SMOLBOX_KILL_TRACE: opts.trace } : {}) };
    const child = spawn(process.execPath, ['--import', PRELOAD, cliPath, ...args], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/** The disk operations `args` performs, one "op path" line each. */
async function traceOf(args: string[]): Promise<string[]> {
  const file = path.join(os.tmpdir(), `smolbox-kill9-trace-${process.pid}-${Date.now()}`);
  const r = await smox(args, { trace: file });
  expect(r.code, r.stderr).toBe(0);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  fs.rmSync(file);
  return lines;
}

/** Kill points: every rename and removal of `target` or its temp siblings, and `extra` more spread evenly. */
function choose(trace: string[], target: string, extra: number): number[] {
  const name = target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const own = new RegExp(`^(rename|rm|rmdir|unlink)Sync .*/(${name}|\\.${name}\\.(tmp|old)-\\d+-[0-9a-f]{8})$`);
  const picked = new Set(trace.flatMap((t, i) => (own.test(t) ? [i + 1] : [])));
  for (let j = 1; j <= extra; j++) picked.add(Math.max(1, Math.floor((trace.length * j) / (extra + 1))));
  return [...picked].sort((a, b) => a - b);
}

interface Writer {
  name: string;
  /** The command that writes `target`; run once beforehand so there is a previous version to lose. */
  args: string[];
  target: string;
  extra: number;
  /** What the next start sees at `target` (`first`: its snapshot before the kills): throws when something is half there. */
  check: (full: string, first: Record<string, string>) => Promise<void>;
}

const loadModel = async (full: string) => {
  if (!fs.existsSync(full) && !fs.readdirSync(cwd).some((f) => f.startsWith(`.${path.basename(full)}.old-`))) return;
  const dir = await resolveModelSource(path.basename(full), { cwd });
  const ckpt = readCheckpoint(dir);
  if (hasTrainingState(dir)) {
    const { state } = readTrainingState(dir);
    if (state.step !== ckpt.provenance?.metrics?.step) throw new Error(`training state at step ${state.step}, weights at ${ckpt.provenance?.metrics?.step}`);
  }
};

const WRITERS: Writer[] = [
  { name: 'smox set', args: ['set', 'model_path', 'tiny'], target: 'state.json', extra: 2, check: async () => void readState(cwd) },
  { name: 'transform/pruner', args: ['transform/pruner', '--model_path', 'tiny', '--output_model_path', 'pruned'], target: 'pruned', extra: 3, check: loadModel },
  { name: 'io/exporter gguf', args: ['io/exporter', '--model_path', 'tiny', '--export_format', 'gguf', '--export_model_path', 'e.gguf'], target: 'e.gguf', extra: 2,
    // The same model exports to the same bytes: anything else is a torn file.
    check: async (full, first) => {
      if (JSON.stringify(snapshot(full)) !== JSON.stringify(first)) throw new Error(`${full} differs from the export it replaced`);
    },
  },
  {
    name: 'train/finetuner',
    args: ['train/finetuner', '--model_path', 'tiny', '--dataset_path', 'train.txt', '--max_seq_length', '32', '--batch_size', '4', '--seed', '3', '--max_steps', '2', '--save_every', '1', '--output_model_path', 'ft'],
    target: 'ft', extra: 2, check: loadModel,
  },
];

describe('kill -9 at chosen points of every writer', () => {
  it.each(WRITERS.map((w) => [w.name, w] as const))('%s: the next start finds the previous version or the new one, whole', async (_name, w) => {
    const trace = await traceOf(w.args);
    const full = path.join(cwd, w.target);
    const first = snapshot(full);
    const points = choose(trace, w.target, w.extra);
    expect(points.length).toBeGreaterThan(1);
    let lost = 0;
    const failures: string[] = [];
    for (const k of points) {
      const r = await smox(w.args, { at: k });
      expect(r.signal, `op ${k}: ${trace[k - 1]} ${r.stderr}`).toBe('SIGKILL');
      try {
        await w.check(full, first);
      } catch (e) {
        lost++;
        failures.push(`op ${k} (${trace[k - 1]}): ${(e as Error).message}`);
      }
    }
    // After all the kills, the writer runs to the end.
    const last = await smox(w.args);
    expect(last.code, last.stderr).toBe(0);
    expect(failures).toEqual([]);
    tally(`kill -9 ${w.name}`, { cases: points.length, faults: points.length, lost });
  });
});
