import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ToolEvent } from '../../src/core/events.js';
import { readHistory } from '../../src/core/history.js';
import { readState, updateState } from '../../src/core/state.js';
import { runTool } from '../../src/engine/run-tool.js';

/**
 * User tools (from SMOLBOX_TOOLS_PATH) stand in for built-ins, which have no engine yet:
 * demo/write writes a file into its output directory and returns metrics; demo/fail throws
 * after touching nothing; demo/wait waits until it is cancelled.
 */
const TOOLS = {
  'write.mjs': `export default {
  summary: 'write a file into the output model directory',
  args: {
    model_path: { kind: 'string', default: '<AUTO>', help: 'in', resolves: { key: 'model_path', direction: 'in' } },
    output_model_path: { kind: 'string', default: '<AUTO>', help: 'out', resolves: { key: 'output_model_path', direction: 'out' } },
    words: { kind: 'integer', default: 2, help: 'how many words', min: 1 },
    seed: { kind: 'integer', default: null, help: 'seed', min: 0, max: 4294967295, seed: true },
  },
  async run(ctx, a) {
    const fs = await import('node:fs');
    const path = await import('node:path');
    ctx.emit.log('writing ' + a.output_model_path);
    ctx.emit.progress({ label: 'write', current: 1, total: 1 });
    fs.writeFileSync(path.join(ctx.cwd, a.output_model_path, 'words.txt'), 'word '.repeat(a.words) + a.seed + ' from ' + a.model_path);
    return { metrics: { words: a.words }, message: 'wrote ' + a.words };
  },
};\n`,
  'fail.mjs': `export default {
  summary: 'fail inside run',
  args: {
    model_path: { kind: 'string', default: '<AUTO>', help: 'in', resolves: { key: 'model_path', direction: 'in' } },
    output_model_path: { kind: 'string', default: '<AUTO>', help: 'out', resolves: { key: 'output_model_path', direction: 'out' } },
    how: { kind: 'choice', default: 'user', choices: ['user', 'bug'], help: 'how to fail' },
  },
  async run(ctx, a) {
    if (a.how === 'bug') throw new TypeError('x is undefined');
    // A user tool cannot import smolbox's UserError class; the name marks it all the same.
    const e = new Error('demo/fail: the model is not there');
    e.name = 'UserError';
    throw e;
  },
};\n`,
  'wait.mjs': `export default {
  summary: 'wait until cancelled',
  args: { output_model_path: { kind: 'string', default: '<AUTO>', help: 'out', resolves: { key: 'output_model_path', direction: 'out' } } },
  async run(ctx) {
    ctx.emit.log('waiting');
    // The sink may abort while the log event is delivered, before a listener exists.
    if (!ctx.signal.aborted) await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    return {};
  },
};\n`,
};

let toolsDir: string;
let env: NodeJS.ProcessEnv;
let cwd: string;

beforeAll(() => {
  toolsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-runner-tools-'));
  fs.mkdirSync(path.join(toolsDir, 'demo'));
  for (const [file, src] of Object.entries(TOOLS)) fs.writeFileSync(path.join(toolsDir, 'demo', file), src);
  env = { SMOLBOX_TOOLS_PATH: toolsDir };
});

afterAll(() => fs.rmSync(toolsDir, { recursive: true, force: true }));

beforeEach(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-runner-'));
});

async function run(name: string, argv: string[], signal?: AbortSignal, onEvent?: (e: ToolEvent) => void) {
  const events: ToolEvent[] = [];
  const outcome = await runTool(name, argv, {
    cwd,
    env,
    signal,
    sink: (e) => {
      events.push(e);
      onEvent?.(e);
    },
  });
  return { outcome, events };
}

/** Everything under .smolbox/, for "nothing changed" checks. */
function snapshot(): Record<string, string> {
  const root = path.join(cwd, '.smolbox');
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      out[path.relative(root, full)] = e.isDirectory() ? '<dir>' : fs.readFileSync(full, 'utf8');
    }
  };
  walk(root);
  return out;
}

const setModel = (value: string) => updateState(cwd, (s) => ({ ...s, model_path: value }));

describe('runTool: success', () => {
  it('runs the tool, advances the state and writes one full history record', async () => {
    await setModel('base-model');
    const before = readState(cwd)!;
    const historyBefore = readHistory(cwd).length;
    const { outcome, events } = await run('demo/write', ['--words', '3']);
    expect(outcome).toEqual({ ok: true, result: { metrics: { words: 3 }, message: 'wrote 3' } });
    expect(events.map((e) => e.type)).toEqual(['log', 'progress', 'result']);

    const history = readHistory(cwd);
    expect(history).toHaveLength(historyBefore + 1);
    const rec = history.at(-1)!;
    const out = rec.args.output_model_path as string;
    expect(out).toMatch(/^\.smolbox[/\\][0-9a-f-]{36}[/\\]?$/);
    expect(fs.readFileSync(path.join(cwd, out, 'words.txt'), 'utf8')).toMatch(/^word word word \d+ from base-model$/);

    const after = readState(cwd)!;
    expect(after.model_path).toBe(out);
    expect(after.output_model_path).toBeNull();

    expect(rec).toMatchObject({
      kind: 'tool',
      name: 'demo/write',
      status: 'ok',
      args: { model_path: 'base-model', output_model_path: out, words: 3 },
      metrics: { words: 3 },
      state_before: { model_path: before.model_path, output_model_path: null },
      state_after: { model_path: out, output_model_path: null },
    });
    expect(rec.action).toBeUndefined();
    expect(Number.isInteger(rec.args.seed)).toBe(true);
    expect(rec.args.seed as number).toBeGreaterThanOrEqual(0);
    expect(rec.args.seed as number).toBeLessThan(2 ** 32);
    expect(rec.outputs?.output_model_path).toMatch(/^[0-9a-f]{64}$/);
    expect(rec.duration_ms).toBeGreaterThanOrEqual(0);
    expect(Number.isNaN(Date.parse(rec.time))).toBe(false);
  });

  it('records a given seed as given and hashes outputs by content', async () => {
    await setModel('m');
    await run('demo/write', ['--seed', '7', '--output_model_path', 'out-a']);
    await setModel('m');
    await run('demo/write', ['--seed', '7', '--output_model_path', 'out-b']);
    const [a, b] = readHistory(cwd).filter((r) => r.name === 'demo/write');
    expect(a.args.seed).toBe(7);
    expect(a.args.output_model_path).toBe('out-a');
    expect(a.outputs?.output_model_path).toBe(b.outputs?.output_model_path);
    expect(readState(cwd)!.model_path).toBe('out-b');
  });

  it('chains: the next tool reads the previous output from the state', async () => {
    await setModel('m0');
    await run('demo/write', []);
    const first = readState(cwd)!.model_path;
    await run('demo/write', []);
    const rec = readHistory(cwd).at(-1)!;
    expect(rec.args.model_path).toBe(first);
    expect(readState(cwd)!.model_path).not.toBe(first);
  });
});

describe('runTool: failures before the tool runs change nothing', () => {
  it.each([
    [['--wrods', '3'], 'unknown flag --wrods; did you mean --words?'],
    [['--words', '0'], '--words must be ≥ 1 (got 0)'],
    [['stray'], 'unexpected argument "stray"'],
  ])('%j', async (argv, message) => {
    await setModel('base');
    const before = snapshot();
    const { outcome, events } = await run('demo/write', argv);
    expect(outcome.ok).toBe(false);
    expect(outcome.failure).toBe('usage');
    expect(outcome.error).toContain(message);
    expect(events).toEqual([{ type: 'error', message: outcome.error, detail: expect.any(String) }]);
    expect(snapshot()).toEqual(before);
  });

  it('an unknown tool', async () => {
    const { outcome } = await run('demo/wirte', []);
    expect(outcome.failure).toBe('usage');
    expect(outcome.error).toContain('did you mean demo/write?');
    expect(fs.existsSync(path.join(cwd, '.smolbox'))).toBe(false);
  });

  it('a model_path the state does not have', async () => {
    const { outcome } = await run('demo/write', []);
    expect(outcome.failure).toBe('usage');
    expect(outcome.error).toMatch(/model_path/);
    expect(fs.existsSync(path.join(cwd, '.smolbox', 'state.json'))).toBe(false);
    expect(fs.existsSync(path.join(cwd, '.smolbox', 'state_history.jsonl'))).toBe(false);
  });

  it('--help prints usage and runs nothing', async () => {
    const { outcome } = await run('demo/write', ['--help']);
    expect(outcome.ok).toBe(true);
    expect(outcome.help).toBe(true);
    expect(outcome.result?.message).toContain('--words INT');
    expect(fs.existsSync(path.join(cwd, '.smolbox'))).toBe(false);
  });
});

describe('runTool: a tool that fails or is cancelled', () => {
  it.each([
    ['user', 'demo/fail: the model is not there'],
    ['bug', 'demo/fail: x is undefined'],
  ])('fails (%s): error record, state as it was, fresh output dir removed', async (how, message) => {
    await setModel('base');
    const stateBefore = fs.readFileSync(path.join(cwd, '.smolbox', 'state.json'), 'utf8');
    const dirsBefore = fs.readdirSync(path.join(cwd, '.smolbox'));
    const { outcome, events } = await run('demo/fail', ['--how', how]);
    expect(outcome).toEqual({ ok: false, error: message, failure: 'run' });
    expect(events.at(-1)).toMatchObject({ type: 'error', message });
    expect(fs.readFileSync(path.join(cwd, '.smolbox', 'state.json'), 'utf8')).toBe(stateBefore);
    expect(fs.readdirSync(path.join(cwd, '.smolbox')).filter((f) => !dirsBefore.includes(f))).toEqual(['state_history.jsonl'].filter((f) => !dirsBefore.includes(f)));
    const rec = readHistory(cwd).at(-1)!;
    expect(rec).toMatchObject({ name: 'demo/fail', status: 'error', error: message, args: { how, model_path: 'base' } });
    expect(rec.state_after).toEqual(rec.state_before);
    expect(rec.outputs).toBeUndefined();
  });

  it('is cancelled through the signal', async () => {
    await setModel('base');
    const controller = new AbortController();
    const { outcome } = await run('demo/wait', [], controller.signal, (e) => {
      if (e.type === 'log') controller.abort();
    });
    expect(outcome).toEqual({ ok: false, error: 'demo/wait: cancelled', failure: 'cancelled' });
    const rec = readHistory(cwd).at(-1)!;
    expect(rec.status).toBe('cancelled');
    expect(readState(cwd)!.model_path).toBe('base');
    expect(readState(cwd)!.output_model_path).toBeNull();
  });
});
