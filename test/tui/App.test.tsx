import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHistory } from '../../src/core/history.js';
import { readState } from '../../src/core/state.js';
import { makeDemoTools, stubEngine } from './fixtures.js';
import { type Bench, KEYS, openWorkbench } from './harness.js';

let toolsDir: string;
beforeAll(() => {
  toolsDir = makeDemoTools();
});
afterAll(() => fs.rmSync(toolsDir, { recursive: true, force: true }));

async function withWorkbench(fn: (wb: Bench) => Promise<void>, opts: Partial<Parameters<typeof openWorkbench>[0]> = {}) {
  const wb = await openWorkbench({ toolsDir, ...opts });
  try {
    await fn(wb);
  } finally {
    await wb.cleanup();
  }
}

/** Types a line and presses Enter, then waits for the step to finish; returns all output. */
async function run(wb: Bench, line: string) {
  await wb.type(line);
  const before = wb.finished.length;
  await wb.press(KEYS.enter);
  await wb.waitFor(() => wb.finished.length > before, `"${line}" to finish`);
  return wb.all();
}

describe('running steps', () => {
  it('streams a tool’s tokens, shows its result, and records it in the history panel', () =>
    withWorkbench(async (wb) => {
      const f = await run(wb, 'demo/speak --model_path base --words 2');
      expect(f).toContain('› demo/speak --model_path base --words 2');
      expect(f).toContain('hello hello');
      expect(f).toContain('spoke 2 words');
      expect(f).toMatch(/speak \[#+\] 100% 2\/2 word/);
      expect(wb.frame()).toMatch(/│ ✓ demo\/speak +--model_path base --words 2 +\d+ ms │/);
      expect(readHistory(wb.cwd).map((r) => r.name)).toEqual(['demo/speak']);
    }));

  it('shows a tool step’s duration as recorded, the number the history panel shows', () =>
    withWorkbench(
      async (wb) => {
        await run(wb, 'demo/speak --model_path base --words 2');
        const recorded = readHistory(wb.cwd)[0].duration_ms;
        expect(wb.finished.at(-1)!.durationMs).toBe(recorded);
      },
      // A clock a second apart per reading: the UI's own measure would be seconds.
      { now: ((t = 0) => () => (t += 1000))() },
    ));

  it('draws the loss chart from metric events', () =>
    withWorkbench(async (wb) => {
      const f = await run(wb, 'demo/speak --model_path base --words 8');
      expect(f).toContain('loss over 8 steps');
      // 4/1 at the top of the axis, 4/8 at the bottom, in eighths of a cell.
      expect(f).toContain(['  4 ┤█', '    ┤█▂', '0.5 ┤██▆▃▂▁▁▁'].join('\n'));
    }));

  it('updates the state panel after set and after a tool', () =>
    withWorkbench(async (wb) => {
      await run(wb, 'set dataset_path corpus.txt');
      expect(wb.frame()).toMatch(/dataset_path +corpus\.txt/);
      expect(wb.frame()).toMatch(/✓ set +dataset_path = corpus\.txt +\d+ ms/);
      await run(wb, 'set model_path base');
      await run(wb, 'demo/speak');
      const out = readState(wb.cwd)?.model_path ?? '';
      expect(out).toMatch(/^\.smolbox\//);
      expect(wb.frame()).toMatch(/model_path +\.smolbox\/[0-9a-f]{3}…/);
    }));

  it('shows the engine’s model in the state panel', () =>
    withWorkbench(
      async (wb) => {
        await run(wb, 'state');
        expect(wb.frame()).toMatch(/model +gpt2 · 124\.4M params/);
        expect(wb.frame()).toMatch(/engine +smolbox/);
        expect(wb.frame()).toMatch(/weights +float32 · 474\.7 MiB in memory/);
        expect(wb.frame()).toMatch(/tokenizer +65 tokens/);
      },
      { engine: stubEngine({ modelType: 'gpt2', parameters: 124_439_808 }) },
    ));

  it('says which engine holds a transformers.js ONNX model, and its variant', () =>
    withWorkbench(
      async (wb) => {
        await run(wb, 'state');
        expect(wb.frame()).toMatch(/model +qwen3 · ONNX/);
        // Beside the history panel it is narrow: the folder goes, the file stays.
        expect(wb.frame()).toMatch(/engine +transformers\.js \(model_q4\.onnx\) /);
        expect(wb.frame()).toMatch(/weights +q4 · 1\.0 MiB in memory/);
      },
      { engine: stubEngine({ modelType: 'qwen3', parameters: 2 ** 20, onnx: { file: 'onnx/model_q4.onnx', dtype: 'q4' } }) },
    ));

  it('prints command tables and help', () =>
    withWorkbench(async (wb) => {
      expect(await run(wb, 'ls')).toMatch(/infer\/sampler {2,}\S/);
      expect(await run(wb, 'help demo/speak')).toContain('--style plain|loud|lyrical');
    }));

  it('takes a line pasted with its leading smox', () =>
    withWorkbench(async (wb) => {
      expect(await run(wb, 'smox set dataset_path corpus.txt')).toMatch(/✓ set +dataset_path = corpus\.txt/);
    }));

  it('shows a failure as one red line, no stack', () =>
    withWorkbench(async (wb) => {
      const f = await run(wb, 'demo/fail');
      expect(f).toContain('✗ demo/fail: the flux capacitor is empty; fill it first');
      expect(f).not.toMatch(/at .*\.mjs:\d+/);
      expect(await run(wb, 'demo/speak --words zero')).toMatch(/✗ .*--words/);
      expect(await run(wb, 'say "unclosed')).toContain('✗ unterminated double quote');
    }));

  it('opened with --debug, shows the failure’s stack under its red line', () =>
    withWorkbench(
      async (wb) => {
        const f = await run(wb, 'demo/fail');
        expect(f).toContain('✗ demo/fail: the flux capacitor is empty; fill it first');
        expect(f).toMatch(/at .*fail\.mjs:\d+/);
      },
      { debug: true },
    ));
});

describe('keys', () => {
  it('Ctrl-C cancels the running tool; the prompt comes back', () =>
    withWorkbench(async (wb) => {
      await wb.type('demo/wait');
      await wb.press(KEYS.enter);
      await wb.waitFor((f) => f.includes('waiting') && f.includes('running… (Ctrl-C cancels)'), 'the tool to run');
      await wb.press(KEYS.ctrlC);
      await wb.waitFor(() => wb.finished.length === 1, 'the cancel');
      expect(wb.all()).toMatch(/✗ cancelled after/);
      expect(wb.frame()).toMatch(/^smox›/m);
      expect(readHistory(wb.cwd)[0]).toMatchObject({ name: 'demo/wait', status: 'cancelled' });
      expect(wb.exited()).toBeNull();
    }));

  it('Ctrl-C twice when idle quits; once only warns', () =>
    withWorkbench(async (wb) => {
      await wb.press(KEYS.ctrlC);
      await wb.waitFor((f) => f.includes('press Ctrl-C again or Ctrl-D to quit'), 'the warning');
      expect(wb.exited()).toBeNull();
      await wb.press(KEYS.ctrlC);
      expect(wb.exited()).toEqual({ force: false });
    }));

  it('Ctrl-C on a line with text clears the line instead', () =>
    withWorkbench(async (wb) => {
      await wb.type('demo/spe');
      await wb.press(KEYS.ctrlC);
      await wb.waitFor(() => wb.promptText() === '', 'an empty prompt');
      expect(wb.frame()).not.toContain('press Ctrl-C again');
      expect(wb.exited()).toBeNull();
    }));

  it('Ctrl-D quits', () =>
    withWorkbench(async (wb) => {
      await wb.press(KEYS.ctrlD);
      expect(wb.exited()).toEqual({ force: false });
    }));

  it('Up and Down walk the line history, which outlives the session', async () => {
    let historyFile = '';
    await withWorkbench(async (wb) => {
      historyFile = wb.historyFile;
      await run(wb, 'get model_path');
      await run(wb, 'state');
      await wb.type('dra');
      await wb.press(KEYS.up);
      await wb.waitFor(() => wb.promptText() === 'state', 'the newest line');
      await wb.press(KEYS.up);
      await wb.waitFor(() => wb.promptText() === 'get model_path', 'the older line');
      await wb.press(KEYS.up);
      expect(wb.promptText()).toBe('get model_path');
      await wb.press(KEYS.down);
      await wb.press(KEYS.down);
      await wb.waitFor(() => wb.promptText() === 'dra', 'the draft back');
    });
    expect(fs.readFileSync(historyFile, 'utf8')).toBe('get model_path\nstate\n');
    await withWorkbench(
      async (wb) => {
        await wb.press(KEYS.up);
        await wb.waitFor(() => wb.promptText() === 'state', 'the last session’s line');
      },
      { historyFile },
    );
  });
});

describe('completion', () => {
  it('tool names: several candidates list under the prompt, one fills in', () =>
    withWorkbench(async (wb) => {
      await wb.type('dem');
      await wb.press(KEYS.tab);
      await wb.waitFor(() => wb.promptText() === 'demo/', 'the common prefix');
      expect(wb.frame()).toMatch(/demo\/fail +demo\/gate +demo\/hang +demo\/print +demo\/speak +demo\/wait/);
      await wb.type('sp');
      await wb.press(KEYS.tab);
      await wb.waitFor(() => wb.promptText() === 'demo/speak', 'the whole name');
      expect(wb.frame()).not.toContain('demo/wait');
    }));

  it('categories: tr → train/ and transform/', () =>
    withWorkbench(async (wb) => {
      await wb.type('tr');
      await wb.press(KEYS.tab);
      await wb.waitFor((f) => /^train\/ +transform\/$/m.test(f), 'both categories');
      expect(wb.promptText()).toBe('tra');
    }));

  it('flags of the tool being typed, then choice values', () =>
    withWorkbench(async (wb) => {
      await wb.type('demo/speak --st');
      await wb.press(KEYS.tab);
      await wb.waitFor(() => wb.promptText() === 'demo/speak --style', 'the flag');
      await wb.type('l');
      await wb.press(KEYS.tab);
      await wb.waitFor((f) => wb.promptText() === 'demo/speak --style l' && /loud +lyrical/.test(f), 'the choices');
      await wb.type('o');
      await wb.press(KEYS.tab);
      await wb.waitFor(() => wb.promptText() === 'demo/speak --style loud', 'the choice');
    }));

  it('state keys after set, paths, builtin models and parameter names', () =>
    withWorkbench(
      async (wb) => {
        fs.writeFileSync(path.join(wb.cwd, 'corpus-a.txt'), 'a');
        fs.writeFileSync(path.join(wb.cwd, 'corpus-b.txt'), 'b');
        await wb.type('set data');
        await wb.press(KEYS.tab);
        await wb.waitFor(() => wb.promptText() === 'set dataset_path', 'the key');
        await wb.type('co');
        await wb.press(KEYS.tab);
        await wb.waitFor((f) => wb.promptText() === 'set dataset_path corpus-' && f.includes('corpus-b.txt'), 'the paths');
        await wb.type('x');
        await wb.press(KEYS.enter);
        await wb.waitFor(() => wb.finished.length === 1, 'the set');
        await wb.type('demo/speak --corpus builtin:tiny');
        await wb.press(KEYS.tab);
        await wb.waitFor(() => wb.promptText() === 'demo/speak --corpus builtin:tiny_shakespeare', 'the builtin dataset');
        await wb.type('--focus lm');
        await wb.press(KEYS.tab);
        await wb.waitFor(() => wb.promptText() === 'demo/speak --corpus builtin:tiny_shakespeare --focus lm_head.weight', 'the parameter name');
      },
      { engine: stubEngine({ modelType: 'gpt2', parameters: 10 }) },
    ));
});

describe('narrow terminals', () => {
  it('keeps every line within 60 columns', () =>
    withWorkbench(
      async (wb) => {
        await run(wb, 'set dataset_path /a/very/long/path/that/goes/on/and/on/past/the/panel/edge/corpus.txt');
        await run(wb, 'demo/speak --model_path base --words 12');
        const f = wb.frame();
        for (const line of f.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(60);
        expect(f).toMatch(/dataset_path +\/a\/very.*….*corpus\.txt/);
        // `history` runs in the worker, which learns the width from the workbench.
        await run(wb, 'history');
        const table = wb.finished.at(-1)!.blocks.flatMap((b) => b.text.split('\n'));
        expect(table.length).toBeGreaterThan(2);
        for (const line of table) expect([...line].length, line).toBeLessThanOrEqual(60);
      },
      { columns: 60 },
    ));
});
