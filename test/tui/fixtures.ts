/**
 * User tools (SMOLBOX_TOOLS_PATH) that stand in for the model engine in workbench tests:
 * demo/speak streams tokens, progress and a falling loss, then writes its output model
 * directory (so the state advances); demo/wait streams a token and waits to be cancelled;
 * demo/gate waits until the test calls openGate(); demo/hang streams a token and never ends,
 * cancelled or not (a step cut off with its engine); demo/fail fails with a one-line message;
 * demo/print writes to stdout behind the events; demo/crash ends the engine's thread.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ModelSummary } from '../../src/engine/worker-protocol.js';

const SPEAK = `export default {
  summary: 'say hello, streaming',
  args: {
    model_path: { kind: 'string', default: '<AUTO>', help: 'in', resolves: { key: 'model_path', direction: 'in' }, complete: 'model' },
    output_model_path: { kind: 'string', default: '<AUTO>', help: 'out', resolves: { key: 'output_model_path', direction: 'out' }, complete: 'path' },
    words: { kind: 'integer', default: 3, help: 'how many words', min: 1 },
    style: { kind: 'choice', default: 'plain', choices: ['plain', 'loud', 'lyrical'], help: 'how to say it' },
    corpus: { kind: 'string', default: '', help: 'words to draw from', complete: 'dataset' },
    focus: { kind: 'string', default: '', help: 'a parameter to look at', complete: 'param-name' },
  },
  async run(ctx, a) {
    const fs = await import('node:fs');
    const path = await import('node:path');
    for (let i = 1; i <= a.words; i++) {
      ctx.emit.token(a.style === 'loud' ? 'HELLO ' : 'hello ');
      ctx.emit.metric('loss', 4 / i, i);
      ctx.emit.progress({ label: 'speak', current: i, total: a.words, unit: 'word', info: { 'tok/s': 100 } });
    }
    fs.writeFileSync(path.join(ctx.cwd, a.output_model_path, 'said.txt'), 'hello '.repeat(a.words));
    return { metrics: { words: a.words }, message: 'spoke ' + a.words + ' words' };
  },
};
`;

const WAIT = `export default {
  summary: 'wait until cancelled',
  args: {},
  async run(ctx) {
    ctx.emit.token('waiting');
    ctx.emit.progress({ label: 'wait', current: 0, total: 10 });
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
    throw new Error('aborted');
  },
};
`;

/** In-process only: the tool and the test share globalThis. */
const GATE = `export default {
  summary: 'wait until the test opens the gate',
  args: {},
  async run(ctx) {
    ctx.emit.token('gated');
    await new Promise((resolve) => {
      globalThis.__smoxOpenGate = resolve;
    });
    return { message: 'gate opened' };
  },
};
`;

/** Lets the running demo/gate finish; false when none waits yet. */
export function openGate(): boolean {
  const g = globalThis as { __smoxOpenGate?: () => void };
  const open = g.__smoxOpenGate;
  g.__smoxOpenGate = undefined;
  open?.();
  return open !== undefined;
}

const HANG = `export default {
  summary: 'never end',
  args: {
    output_model_path: { kind: 'string', default: '<AUTO>', help: 'out', resolves: { key: 'output_model_path', direction: 'out' } },
  },
  async run(ctx) {
    ctx.emit.token('hanging');
    await new Promise(() => {});
  },
};
`;

const FAIL = `export default {
  summary: 'fail with a message',
  args: {},
  async run() {
    const err = new Error('demo/fail: the flux capacitor is empty; fill it first');
    err.name = 'UserError';
    throw err;
  },
};
`;

const PRINT = `export default {
  summary: 'print to stdout behind the events',
  args: {},
  async run() {
    console.log('a stray line');
    return { message: 'printed' };
  },
};
`;

/** Ends its thread: only for the worker bridge (in-process it would end the test run). */
const CRASH = `export default {
  summary: 'end the engine thread',
  args: {},
  async run() {
    process.exit(3);
  },
};
`;

/** Writes the demo tools into a fresh directory; returns the directory for SMOLBOX_TOOLS_PATH. */
export function makeDemoTools(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-demo-tools-'));
  fs.mkdirSync(path.join(dir, 'demo'));
  fs.writeFileSync(path.join(dir, 'demo', 'speak.mjs'), SPEAK);
  fs.writeFileSync(path.join(dir, 'demo', 'wait.mjs'), WAIT);
  fs.writeFileSync(path.join(dir, 'demo', 'gate.mjs'), GATE);
  fs.writeFileSync(path.join(dir, 'demo', 'hang.mjs'), HANG);
  fs.writeFileSync(path.join(dir, 'demo', 'fail.mjs'), FAIL);
  fs.writeFileSync(path.join(dir, 'demo', 'print.mjs'), PRINT);
  fs.writeFileSync(path.join(dir, 'demo', 'crash.mjs'), CRASH);
  return dir;
}

/**
 * A stand-in for the Engine: no model until told otherwise. A model with `onnx` set is a
 * transformers.js one (that variant, those bytes, no parameter count).
 */
export function stubEngine(model: { modelType: string; parameters: number; onnx?: { file: string; dtype: string } } | null = null): { threads: number; summary(): ModelSummary | null; parameterNames(): string[]; release(): Promise<void> } {
  return {
    threads: 2,
    summary: () =>
      model && (model.onnx
        ? { path: '/models/tjs', modelType: model.modelType, parameters: null, dtype: model.onnx.dtype, bytes: model.parameters, tokenizer: '65 tokens', engine: `transformers.js (${model.onnx.file})` }
        : { path: '/models/tiny', modelType: model.modelType, parameters: model.parameters, dtype: 'float32', bytes: model.parameters * 4, tokenizer: '65 tokens', engine: 'smolbox' }),
    parameterNames: () => (model && !model.onnx ? ['transformer.wte.weight', 'transformer.h.0.attn.c_attn.weight', 'lm_head.weight'] : []),
    release: async () => {},
  };
}
