/**
 * The workbench's input as a stream of keys: whole chunks (a paste, `tmux send-keys 'x' Enter`)
 * and keys written faster than the app draws must act in order, exactly as typed one by one.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHistory } from '../../src/core/history.js';
import { makeDemoTools, openGate } from './fixtures.js';
import { type Bench, KEYS, openWorkbench } from './harness.js';

let toolsDir: string;
beforeAll(() => {
  toolsDir = makeDemoTools();
});
afterAll(() => fs.rmSync(toolsDir, { recursive: true, force: true }));

async function withWorkbench(fn: (wb: Bench) => Promise<void>) {
  const wb = await openWorkbench({ toolsDir });
  try {
    await fn(wb);
  } finally {
    await wb.cleanup();
  }
}

const finishedLines = (wb: Bench) => wb.finished.map((s) => s.line);
const savedLines = (wb: Bench) => fs.readFileSync(wb.historyFile, 'utf8').split('\n').filter(Boolean);
const until = (wb: Bench, n: number, what: string) => wb.waitFor(() => wb.finished.length >= n, what);

describe('chunks', () => {
  it('runs a line that arrives with its Enter in one chunk, first character kept', () =>
    withWorkbench(async (wb) => {
      wb.write('get dataset_path\r');
      await until(wb, 1, 'the step');
      expect(finishedLines(wb)).toEqual(['get dataset_path']);
      expect(wb.all()).toContain('› get dataset_path');
      expect(wb.promptText()).toBe('');
    }));

  it('runs a three-line paste line by line, in order, each saved alone', () =>
    withWorkbench(async (wb) => {
      wb.write('set dataset_path a.txt\rget dataset_path\rset dataset_path b.txt\r');
      await until(wb, 3, 'three steps');
      expect(finishedLines(wb)).toEqual(['set dataset_path a.txt', 'get dataset_path', 'set dataset_path b.txt']);
      expect(wb.finished.every((s) => s.status === 'ok')).toBe(true);
      expect(wb.finished[1].blocks.map((b) => b.text).join('\n')).toContain('a.txt');
      expect(savedLines(wb)).toEqual(['set dataset_path a.txt', 'get dataset_path', 'set dataset_path b.txt']);
      expect(readHistory(wb.cwd).map((r) => r.name)).toEqual(['set', 'set']);
    }));

  it('shows the lines of a paste waiting behind a running step, then runs them', () =>
    withWorkbench(async (wb) => {
      wb.write('demo/gate\nset dataset_path a.txt\nget dataset_path\n');
      await wb.waitFor((f) => f.includes('gated') && f.includes('queued › set dataset_path a.txt') && f.includes('queued › get dataset_path'), 'the queue');
      expect(openGate()).toBe(true);
      await until(wb, 3, 'the queue to drain');
      expect(finishedLines(wb)).toEqual(['demo/gate', 'set dataset_path a.txt', 'get dataset_path']);
      expect(wb.frame()).not.toContain('queued ›');
    }));

  it('completes on a Tab inside a chunk, twice in one chunk', () =>
    withWorkbench(async (wb) => {
      wb.write('demo/sp\t--wo\t');
      await wb.waitFor(() => wb.promptText() === 'demo/speak --words', 'both completions');
    }));

  it('completes the argument of help', () =>
    withWorkbench(async (wb) => {
      wb.write('help demo/sp\t');
      await wb.waitFor(() => wb.promptText() === 'help demo/speak', 'the tool name');
    }));

  it('moves twice for two arrow sequences in one chunk', () =>
    withWorkbench(async (wb) => {
      wb.write('get model_path\rget dataset_path\r');
      await until(wb, 2, 'two steps');
      wb.write(`${KEYS.up}${KEYS.up}`);
      await wb.waitFor(() => wb.promptText() === 'get model_path', 'the older line');
    }));

  it('edits with readline keys inside a chunk: Ctrl-A, Ctrl-W, Ctrl-←', () =>
    withWorkbench(async (wb) => {
      wb.write(`dataset_path${KEYS.ctrlA}get \r`);
      await until(wb, 1, 'the step');
      wb.write(`get model_path junk${KEYS.ctrlW}\r`);
      await until(wb, 2, 'the second step');
      wb.write(`get path${KEYS.ctrlLeft}model_\r`);
      await until(wb, 3, 'the third step');
      expect(finishedLines(wb)).toEqual(['get dataset_path', 'get model_path', 'get model_path']);
    }));
});

describe('typed fast', () => {
  it('Enter right after the keys submits every key typed, not the last drawn line', () =>
    withWorkbench(async (wb) => {
      for (const ch of 'set dataset_path fast.txt') wb.write(ch);
      wb.write(KEYS.enter);
      for (const ch of 'get dataset_path') wb.write(ch);
      wb.write(KEYS.enter);
      await until(wb, 2, 'both steps');
      expect(finishedLines(wb)).toEqual(['set dataset_path fast.txt', 'get dataset_path']);
    }));

  it('keeps a line typed while a step runs and runs it after', () =>
    withWorkbench(async (wb) => {
      await wb.type('demo/gate');
      await wb.press(KEYS.enter);
      await wb.waitFor((f) => f.includes('gated'), 'the gate');
      await wb.type('get dataset_path');
      await wb.press(KEYS.enter);
      await wb.waitFor((f) => f.includes('queued › get dataset_path'), 'the queued line');
      openGate();
      await until(wb, 2, 'the queued step');
      expect(finishedLines(wb)).toEqual(['demo/gate', 'get dataset_path']);
    }));

  it('Ctrl-C while a step runs cancels it and drops the queued lines', () =>
    withWorkbench(async (wb) => {
      wb.write('demo/wait\rget dataset_path\r');
      await wb.waitFor((f) => f.includes('queued › get dataset_path'), 'the queue');
      await wb.press(KEYS.ctrlC);
      await until(wb, 1, 'the cancel');
      expect(wb.finished[0].status).toBe('cancelled');
      await wb.waitFor((f) => !f.includes('queued ›'), 'the queue to go');
      expect(wb.finished).toHaveLength(1);
    }));
});

describe('messages', () => {
  it('the quit hint goes with the next key', () =>
    withWorkbench(async (wb) => {
      await wb.press(KEYS.ctrlC);
      await wb.waitFor((f) => f.includes('press Ctrl-C again'), 'the hint');
      await wb.press(KEYS.up);
      await wb.waitFor((f) => !f.includes('press Ctrl-C again'), 'the hint to go');
      expect(wb.exited()).toBeNull();
    }));

  it('tells what to type in the workbench, not a shell command', () =>
    withWorkbench(async (wb) => {
      await wb.type('demo/nope');
      await wb.press(KEYS.enter);
      await until(wb, 1, 'the step');
      expect(wb.all()).toMatch(/✗ unknown tool or command "demo\/nope"/);
      // The line wraps at the terminal's width.
      expect(wb.all()).toMatch(/\(ls lists the tools, help\s+the\s+commands\)/);
      expect(wb.all()).not.toMatch(/smox\s+(ls|--help)/);
    }));
});
