/**
 * The workbench's engine bridge: the protocol client and host over a MessageChannel on this
 * thread, and the real worker thread from the built dist/ (worker_threads cannot run .ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createInProcessBridge } from '../../src/engine/in-process-bridge.js';
import type { EngineBridge, WorkbenchEvent } from '../../src/engine/worker-bridge.js';
import { readHistory } from '../../src/core/history.js';
import { readState } from '../../src/core/state.js';
import { ensureBuilt, repoRoot } from '../cli/built-cli.js';
import { writeTinyModel } from '../tools/fixtures.js';
import { makeDemoTools, stubEngine } from '../tui/fixtures.js';

let toolsDir: string;
let cwd: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  toolsDir = makeDemoTools();
  env = { ...process.env, SMOLBOX_TOOLS_PATH: toolsDir, SMOLBOX_CONFIG_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'smox-cfg-')) };
});
afterAll(() => fs.rmSync(toolsDir, { recursive: true, force: true }));
beforeEach(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-bridge-'));
});

async function collect(bridge: EngineBridge, line: string[]) {
  const events: WorkbenchEvent[] = [];
  const result = await bridge.step(line, cwd, (e) => events.push(e));
  return { ...result, events };
}

/** The same expectations for both bridges. */
function contract(make: () => EngineBridge) {
  it('streams a tool’s events and records the step like the CLI', async () => {
    const bridge = make();
    try {
      const info = await bridge.ready();
      expect(info.threads).toBeGreaterThan(0);
      const { outcome, events } = await collect(bridge, ['demo/speak', '--model_path', 'base', '--words', '2']);
      expect(outcome).toEqual({ ok: true, durationMs: expect.any(Number) });
      expect(events.filter((e) => e.type === 'token').map((e) => (e as { text: string }).text).join('')).toBe('hello hello ');
      expect(events.filter((e) => e.type === 'progress')).toHaveLength(2);
      expect(events.at(-1)).toMatchObject({ type: 'result', result: { message: 'spoke 2 words' } });
      const history = readHistory(cwd);
      expect(history).toHaveLength(1);
      expect(history[0]).toMatchObject({ name: 'demo/speak', status: 'ok', args: { words: 2 } });
      // The duration the workbench shows is the one recorded.
      expect(outcome.durationMs).toBe(history[0].duration_ms);
      expect(readState(cwd)?.model_path).toMatch(/^\.smolbox\//);
    } finally {
      await bridge.close();
    }
  });

  it('runs commands and help, printing lines', async () => {
    const bridge = make();
    try {
      await collect(bridge, ['set', 'dataset_path', 'data.txt']);
      const got = await collect(bridge, ['get', 'dataset_path']);
      expect(got.events).toEqual([{ type: 'output', line: 'data.txt' }]);
      expect(readHistory(cwd).map((r) => r.name)).toEqual(['set']);
      const help = await collect(bridge, ['help', 'demo/speak']);
      expect(help.events.map((e) => (e.type === 'result' ? e.result.message : '')).join('')).toContain('--words');
      const bad = await collect(bridge, ['get', 'colour']);
      expect(bad.outcome).toMatchObject({ ok: false, failure: 'usage' });
      expect(bad.events).toHaveLength(1);
      expect(bad.events[0]).toMatchObject({ type: 'error' });
    } finally {
      await bridge.close();
    }
  });

  it('cancels the running step and records it as cancelled', async () => {
    const bridge = make();
    try {
      const events: WorkbenchEvent[] = [];
      const running = bridge.step(['demo/wait'], cwd, (e) => {
        events.push(e);
        if (e.type === 'token') bridge.cancel();
      });
      const { outcome } = await running;
      expect(outcome).toMatchObject({ ok: false, failure: 'cancelled', error: 'demo/wait: cancelled' });
      expect(readHistory(cwd)[0]).toMatchObject({ name: 'demo/wait', status: 'cancelled' });
      expect(outcome.durationMs).toBe(readHistory(cwd)[0].duration_ms);
      // The engine is free again.
      expect((await collect(bridge, ['demo/fail'])).outcome).toMatchObject({ ok: false, failure: 'run', error: 'demo/fail: the flux capacitor is empty; fill it first' });
    } finally {
      await bridge.close();
    }
  });

  it('quitting at once mid-step records the step as cancelled and removes its empty output directory', async () => {
    const bridge = make();
    let closing: Promise<void> | undefined;
    const { outcome } = await bridge.step(['demo/hang'], cwd, (e) => {
      if (e.type === 'token') closing ??= bridge.close({ force: true });
    });
    await closing;
    expect(outcome).toMatchObject({ ok: false, failure: 'cancelled', error: 'demo/hang: cancelled' });
    const history = readHistory(cwd);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ name: 'demo/hang', status: 'cancelled', error: 'demo/hang: cancelled' });
    expect(history[0].args.output_model_path).toMatch(/^\.smolbox[/\\]/);
    expect(fs.existsSync(path.join(cwd, history[0].args.output_model_path as string))).toBe(false);
    expect(readState(cwd)?.model_path ?? null).toBe(null);
  });

  it('closing politely mid-step lets the step record itself, once', async () => {
    const bridge = make();
    let closing: Promise<void> | undefined;
    await bridge.step(['demo/wait'], cwd, (e) => {
      if (e.type === 'token') closing ??= bridge.close();
    });
    await closing;
    expect(readHistory(cwd).map((r) => [r.name, r.status])).toEqual([['demo/wait', 'cancelled']]);
  });

  it('cuts history to the columns the workbench gives', async () => {
    const bridge = make();
    try {
      await collect(bridge, ['set', 'dataset_path', `corpora/${'shakespeare-'.repeat(8)}.txt`]);
      const lines = async (opts: { columns?: number }) => {
        const out: string[] = [];
        await bridge.step(['history'], cwd, (e) => e.type === 'output' && out.push(e.line), opts);
        return out;
      };
      const narrow = await lines({ columns: 60 });
      expect(narrow.length).toBeGreaterThan(1);
      for (const l of narrow) expect([...l].length, l).toBeLessThanOrEqual(60);
      expect(Math.max(...(await lines({})).map((l) => [...l].length))).toBeGreaterThan(60);
    } finally {
      await bridge.close();
    }
  });
}

describe('in-process bridge', () => {
  contract(() => createInProcessBridge({ engine: stubEngine(), env }));

  it('reports the engine’s model after each step', async () => {
    const bridge = createInProcessBridge({ engine: stubEngine({ modelType: 'gpt2', parameters: 1000 }), env });
    try {
      const { info } = await collect(bridge, ['state']);
      expect(info.model).toMatchObject({ modelType: 'gpt2', parameters: 1000 });
      expect(info.paramNames).toContain('lm_head.weight');
    } finally {
      await bridge.close();
    }
  });
});

describe('worker bridge (built)', () => {
  let createWorkerBridge: (opts: { env?: NodeJS.ProcessEnv }) => EngineBridge;
  beforeAll(async () => {
    ensureBuilt();
    const mod = await import(pathToFileURL(path.join(repoRoot, 'dist', 'src', 'engine', 'worker-bridge.js')).href);
    createWorkerBridge = mod.createWorkerBridge;
  });
  contract(() => createWorkerBridge({ env }));

  it('keeps the model in the worker’s engine across steps (importer, then sampler)', async () => {
    const bridge = createWorkerBridge({ env });
    try {
      writeTinyModel(path.join(cwd, 'tiny'));
      const imported = await collect(bridge, ['io/importer', '--model_path', 'tiny']);
      expect(imported.outcome).toMatchObject({ ok: true });
      const sampled = await collect(bridge, ['infer/sampler', '--prompt', 'ab', '--max_new_tokens', '6', '--seed', '1']);
      expect(sampled.outcome).toMatchObject({ ok: true });
      expect(sampled.events.filter((e) => e.type === 'token').length).toBeGreaterThan(1);
      expect(sampled.info.model).toMatchObject({ modelType: 'gpt2', dtype: 'float32' });
      expect(sampled.info.model?.parameters).toBeGreaterThan(0);
      expect(sampled.info.paramNames.length).toBeGreaterThan(0);
    } finally {
      await bridge.close();
    }
  });

  it('runs a transformers.js ONNX model in the worker and tells the panel which engine holds it', async () => {
    const bridge = createWorkerBridge({ env });
    try {
      writeTinyModel(path.join(cwd, 'tiny'));
      expect((await collect(bridge, ['io/exporter', '--model_path', 'tiny', '--export_format', 'onnx', '--export_model_path', 'tjs'])).outcome).toMatchObject({ ok: true });
      expect((await collect(bridge, ['io/importer', '--model_path', 'tjs'])).outcome).toMatchObject({ ok: true });
      const sampled = await collect(bridge, ['infer/sampler', '--prompt', 'ab', '--max_new_tokens', '6', '--seed', '1']);
      expect(sampled.outcome).toMatchObject({ ok: true });
      expect(sampled.events.filter((e) => e.type === 'token').length).toBeGreaterThan(1);
      expect(sampled.info.model).toMatchObject({ modelType: 'gpt2', engine: 'transformers.js (onnx/model.onnx)', dtype: 'fp32', parameters: null });
      expect(sampled.info.paramNames).toEqual([]);
    } finally {
      await bridge.close();
    }
  });

  it('a worker that dies fails its step with one line; the next step gets a fresh worker', async () => {
    const bridge = createWorkerBridge({ env });
    try {
      const crashed = await collect(bridge, ['demo/crash']);
      expect(crashed.outcome).toMatchObject({ ok: false, failure: 'run', error: 'the engine stopped (exit code 3); the next step starts a fresh one' });
      expect(crashed.events).toEqual([{ type: 'error', message: crashed.outcome.error }]);
      const after = await collect(bridge, ['get', 'model_path']);
      expect(after.outcome).toEqual({ ok: true });
    } finally {
      await bridge.close();
    }
  });

  it('a tool that prints to stdout shows up as a log line, not on the terminal', async () => {
    const bridge = createWorkerBridge({ env });
    try {
      const { events } = await collect(bridge, ['demo/print']);
      expect(events).toContainEqual({ type: 'log', level: 'info', message: 'a stray line' });
    } finally {
      await bridge.close();
    }
  });
});
