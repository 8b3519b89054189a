/**
 * State and history as one commit. A crash is simulated by failing the k-th disk operation of a
 * step and every one after it (a killed process writes nothing more and cleans nothing up); the
 * test then checks what the next smox would see, at every k.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import exportCmd from '../../commands/export-script.js';
import { appendHistory, type HistoryRecord, historyPath, readHistory, recordCommand } from '../../src/core/history.js';
import { lockPath, readState } from '../../src/core/state.js';
import { runCommand } from '../commands/run-command.js';

const OPS = ['writeSync', 'writeFileSync', 'appendFileSync', 'renameSync', 'fsyncSync', 'mkdirSync', 'rmSync', 'ftruncateSync'] as const;
class Killed extends Error {}

/** Runs `fn` with the process "killed" at disk operation `k` (1-based); returns how many it did. */
async function killedAt(k: number, fn: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const spies = OPS.map((op) => {
    const real = fs[op] as (...a: unknown[]) => unknown;
    return vi.spyOn(fs, op).mockImplementation(((...args: unknown[]) => {
      if (++n >= k) throw new Killed(`killed at op ${k}`);
      return real.apply(fs, args);
    }) as never);
  });
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof Killed)) throw e;
  } finally {
    for (const s of spies) s.mockRestore();
  }
  // A dead holder's lock is broken by the next smox (its pid is gone); ours is alive, so do it here.
  fs.rmSync(lockPath(cwd), { force: true });
  return n;
}

let cwd: string;
beforeEach(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-commit-'));
});
afterEach(() => fs.rmSync(cwd, { recursive: true, force: true }));

const set = (value: string) => recordCommand(cwd, 'set', { key: 'model_path', value }, (s) => ({ ...s, model_path: value }));
const okSteps = () => readHistory(cwd).filter((r) => r.status === 'ok');

/** What export-script replays ends where the state is: the last recorded step's state is the state. */
async function expectStateMatchesHistory(label: string): Promise<void> {
  const state = readState(cwd);
  const last = okSteps().at(-1);
  expect(state?.model_path ?? null, label).toBe(last?.state_after?.model_path ?? null);
  const script = (await runCommand(exportCmd, cwd)).lines.join('\n');
  if (state?.model_path) expect(script.trimEnd().endsWith(`smox set model_path ${state.model_path}`), label).toBe(true);
}

describe('a step commits its history record and its state together', () => {
  it('at every crash point of `smox set`, the state the next smox reads is the one the history replays to', async () => {
    await set('v0');
    const total = await killedAt(Infinity, () => set('probe'));
    expect(total).toBeGreaterThan(3);
    const warnings: string[] = [];
    for (let k = 1; k <= total; k++) {
      await killedAt(k, () => set(`v${k}`));
      await expectStateMatchesHistory(`killed at op ${k} of ${total}`);
      // The next step goes on from there, and catches the state up when the crash left it behind.
      const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(((m: string) => warnings.push(m)) as never);
      try {
        const r = await set(`w${k}`);
        expect(r.state_after?.model_path).toBe(`w${k}`);
      } finally {
        stderr.mockRestore();
      }
      await expectStateMatchesHistory(`after the step following op ${k}`);
      expect(okSteps().filter((r) => r.args.value === `w${k}`), `op ${k}`).toHaveLength(1);
    }
    // The crash right after the record's fsync left the state a step behind: caught up, with a warning.
    expect(warnings.some((w) => /state\.json was one step behind its history/.test(w))).toBe(true);
  });

  it('gives each committed record an id that the state carries', async () => {
    const r = await set('gpt2');
    expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(readState(cwd)?.history_id).toBe(r.id);
    expect(r.state_after?.history_id).toBe(r.id);
  });
});

describe('a torn last history line', () => {
  const rec = (name: string): HistoryRecord => ({
    time: '2025-01-01T00:00:00.000Z', kind: 'tool', name, args: {}, status: 'error', duration_ms: 1, state_before: null, state_after: null,
  });

  it('is ended with a warning on the next append, and never swallows the next record', async () => {
    await appendHistory(cwd, rec('first'));
    fs.appendFileSync(historyPath(cwd), JSON.stringify(rec('torn')).slice(0, 40));
    const warnings: string[] = [];
    await appendHistory(cwd, rec('next'), (m) => warnings.push(m));
    expect(readHistory(cwd).map((r) => r.name)).toEqual(['first', 'next']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/state_history\.jsonl: its last line was cut short by an interrupted write \(40 bytes/);
    expect(fs.readFileSync(historyPath(cwd), 'utf8').endsWith('\n')).toBe(true);
  });

  it('keeps a whole record that only lost its newline, without a warning', async () => {
    fs.mkdirSync(path.dirname(historyPath(cwd)), { recursive: true });
    fs.writeFileSync(historyPath(cwd), JSON.stringify(rec('whole')));
    const warnings: string[] = [];
    await appendHistory(cwd, rec('next'), (m) => warnings.push(m));
    expect(readHistory(cwd).map((r) => r.name)).toEqual(['whole', 'next']);
    expect(warnings).toEqual([]);
  });

  it('is not taken for a committed step: the state stays where the last whole record left it', async () => {
    const r = await set('a');
    const torn = JSON.stringify({ ...r, id: 'x'.repeat(36), state_after: { ...r.state_after, model_path: 'b' } });
    fs.appendFileSync(historyPath(cwd), torn.slice(0, -3));
    expect(readState(cwd)?.model_path).toBe('a');
  });
});
