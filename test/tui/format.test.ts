import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Completion } from '../../src/core/completion.js';
import { chartRows, formatBytes, formatCount, shortenPath } from '../../src/tui/format.js';
import { applyCompletion } from '../../src/tui/line-editor.js';
import { candidateRows } from '../../src/tui/Prompt.js';
import { stateRows } from '../../src/tui/StatePanel.js';

describe('panel text', () => {
  it('shortens paths: relative inside cwd, ~ for home, cut in the middle keeping the end', () => {
    const cwd = path.join(os.tmpdir(), 'project');
    expect(shortenPath(path.join(cwd, '.smolbox', 'abc'), cwd, 40)).toBe('.smolbox/abc');
    expect(shortenPath(`${os.homedir()}/models/gpt2`, '/elsewhere', 40)).toBe('~/models/gpt2');
    const cut = shortenPath('/a/very/long/path/to/the/model-directory', '/x', 20);
    expect(cut).toHaveLength(20);
    expect(cut).toMatch(/^\/a\/very.*….*directory$/);
    expect(shortenPath('builtin:tiny_shakespeare', '/x', 40)).toBe('builtin:tiny_shakespeare');
  });

  it('counts parameters and bytes for people', () => {
    expect(formatCount(124_439_808)).toBe('124.4M');
    expect(formatCount(1500)).toBe('1.5K');
    expect(formatCount(999)).toBe('999');
    expect(formatBytes(497_759_232)).toBe('474.7 MiB');
    expect(formatBytes(12)).toBe('12 B');
  });

  it('charts values in eighths of a cell, top row first', () => {
    expect(chartRows([0, 1, 2, 3, 4, 5, 6, 7, 8], 20, 1)).toEqual(['▁▁▂▃▄▅▆▇█']);
    expect(chartRows([4, 2, 1], 20, 2)).toEqual(['█  ', '█▅▁']);
    // Only the last `width` values fit.
    expect(chartRows([9, 9, 1, 2], 2, 1)[0]).toHaveLength(2);
    expect(chartRows([], 10, 3)).toEqual([]);
  });

  it('state rows fit the width and tell a missing engine from no model', () => {
    const state = { model_path: '/w/.smolbox/0123456789abcdef0123', dataset_path: null, output_model_path: null, output_dataset_path: null, created_at: '', updated_at: '' };
    const rows = new Map(stateRows(state, null, '/w', 16));
    expect(rows.get('model_path')).toHaveLength(16);
    expect(rows.get('dataset_path')).toBe('—');
    expect(rows.get('model')).toBe('engine starting…');
    const info = { threads: 4, model: null, paramNames: [], builtins: { models: [], datasets: [] } };
    expect(new Map(stateRows(state, info, '/w', 16)).get('model')).toBe('none in memory');
  });
});

describe('Tab', () => {
  const c = (candidates: string[], common: string, start: number): Completion => ({ candidates, common, start });

  it('fills a single candidate and a space, but not after a directory or a category', () => {
    expect(applyCompletion('infer/sa', c(['infer/sampler'], 'infer/sampler', 0))).toEqual({ value: 'infer/sampler ', candidates: [] });
    expect(applyCompletion('set model_path mo', c(['models/'], 'models/', 15)).value).toBe('set model_path models/');
  });

  it('fills the common prefix of several and lists them', () => {
    expect(applyCompletion('x --st', c(['--steps', '--style'], '--st', 2))).toEqual({ value: 'x --st', candidates: ['--steps', '--style'] });
    expect(applyCompletion('d', c(['demo/a', 'demo/b'], 'demo/', 0)).value).toBe('demo/');
  });

  it('lists candidates in columns that fit, counting the rest', () => {
    const many = Array.from({ length: 40 }, (_, i) => `--flag_${String(i).padStart(2, '0')}`);
    const rows = candidateRows(many, 60);
    expect(rows.length).toBe(5);
    for (const r of rows) expect(r.length).toBeLessThanOrEqual(60);
    expect(rows.at(-1)).toMatch(/^… \d+ more$/);
  });
});

describe('messages in the workbench', () => {
  it('drop the program name the shell needs, and say help for --help', async () => {
    const { asWorkbenchText } = await import('../../src/tui/format.js');
    expect(asWorkbenchText('--model_path is not set: pass --model_path <dir> or run `smox set model_path …`')).toBe(
      '--model_path is not set: pass --model_path <dir> or run `set model_path …`',
    );
    expect(asWorkbenchText('unknown tool (smox ls lists the tools, smox --help the commands)')).toBe('unknown tool (ls lists the tools, help the commands)');
    expect(asWorkbenchText('continue with: smox train/finetuner --resume')).toBe('continue with: train/finetuner --resume');
    expect(asWorkbenchText('smoxy smox')).toBe('smoxy smox');
  });
});
