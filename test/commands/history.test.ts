import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import historyCmd, { formatDuration, historyTable, keyArgs } from '../../commands/history.js';
import { appendHistory, type HistoryRecord } from '../../src/core/history.js';
import { freshState } from '../../src/core/state.js';
import { arg } from '../../src/core/tool.js';
import { runCommand } from './run-command.js';

let cwd: string;
beforeEach(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-hist-'));
});
afterEach(() => fs.rmSync(cwd, { recursive: true, force: true }));

const S = freshState(new Date('2025-01-01T00:00:00Z'));
const rec = (over: Partial<HistoryRecord>): HistoryRecord => ({
  time: '2025-01-01T12:00:00.000Z', kind: 'tool', name: 'transform/pruner', args: {}, status: 'ok', duration_ms: 1500,
  state_before: { ...S, model_path: 'gpt2' }, state_after: S, ...over,
});

const schema = {
  model_path: arg.modelIn(),
  output_model_path: arg.modelOut(),
  pruning_percentage: arg.number(0.2, 'fraction'),
  layer_type: arg.choice(['linear', 'all'], 'linear', 'which'),
  seed: arg.seed(),
};

describe('keyArgs', () => {
  it('shows what is not at its default, leaves out state-given paths, always shows the seed', () => {
    const r = rec({ args: { model_path: 'gpt2', output_model_path: '.smolbox/x', pruning_percentage: 0.5, layer_type: 'linear', seed: 3 } });
    expect(keyArgs(r, schema)).toBe('--pruning_percentage 0.5 --seed 3');
  });

  it('shows an explicit model and output', () => {
    const r = rec({ args: { model_path: 'other', output_model_path: 'out', pruning_percentage: 0.2, layer_type: 'linear', seed: 3 } });
    expect(keyArgs(r, schema)).toBe('--model_path other --output_model_path out --seed 3');
  });

  it('without a schema shows everything, cut to fit', () => {
    const r = rec({ args: { prompt: 'x'.repeat(100) } });
    const text = keyArgs(r, undefined);
    expect(text).toHaveLength(60);
    expect(text.endsWith('…')).toBe(true);
  });

  it('shows set as key = value', () => {
    expect(keyArgs(rec({ kind: 'command', name: 'set', args: { key: 'model_path', value: 'gpt2' } }), undefined)).toBe('model_path = gpt2');
  });
});

describe('formatDuration', () => {
  it.each([[12, '12 ms'], [1500, '1.5 s'], [125_000, '2 m 5 s'], [3_900_000, '1 h 5 m']])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('historyTable', () => {
  it('numbers the steps, marks failures and aligns the columns', () => {
    const lines = historyTable(
      [
        rec({ kind: 'command', name: 'init', duration_ms: 2 }),
        rec({ args: { pruning_percentage: 0.5, seed: 1 } }),
        rec({ name: 'infer/sampler', status: 'error', error: 'infer/sampler: no model', args: { seed: 2 } }),
        rec({ name: 'infer/sampler', status: 'cancelled', args: {} }),
      ],
      new Map([['transform/pruner', schema]]),
    );
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^#\s+time\s+step\s+args\s+duration$/);
    expect(lines[1]).toMatch(/^1 {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}✓ {2}init\s+2 ms$/);
    expect(lines[2]).toMatch(/✓ {2}transform\/pruner {2}--pruning_percentage 0\.5 --seed 1\s+1\.5 s$/);
    expect(lines[3]).toMatch(/✗ {2}infer\/sampler\s+--seed 2 \(infer\/sampler: no model\)\s+1\.5 s$/);
    expect(lines[4]).toMatch(/✗ {2}infer\/sampler\s+\(cancelled\)\s+1\.5 s$/);
    // The duration column starts at the same place on every row.
    const at = lines.slice(1).map((l) => l.search(/\d+(\.\d)? m?s$/));
    expect(new Set(at).size).toBe(1);
  });
});

describe('historyTable at a terminal’s width', () => {
  const records = [
    rec({ kind: 'command', name: 'set', args: { key: 'dataset_path', value: 'builtin:tiny_shakespeare' }, duration_ms: 3 }),
    rec({
      name: 'train/finetuner',
      args: { dataset_path: 'builtin:tiny_shakespeare', num_train_epochs: 1, learning_rate: 0.0003, max_seq_length: 128, seed: 1234567 },
      duration_ms: 125_000,
      metrics: { loss: 1.85512, steps: 40, tokens_per_s: 2310.4 },
      outputs: { output_model_path: 'a'.repeat(64) },
    }),
    rec({ name: 'infer/sampler', args: { prompt: 'ROMEO:', max_new_tokens: 24, seed: 1 }, duration_ms: 320, metrics: { tokens_per_s: 812.25 } }),
  ];
  const width = (l: string) => [...l].length;

  it.each([60, 80, 100, 160])('fits %d columns, one line per step and one for its metrics and hashes', (columns) => {
    const lines = historyTable(records, new Map(), columns);
    for (const l of lines) expect(width(l), l).toBeLessThanOrEqual(columns);
    expect(lines).toHaveLength(1 + 3 + 2);
    expect(lines[2]).toMatch(/✓ {2}(train\/)?finetuner {2}--dataset_path b/);
    expect(lines[3]).toMatch(/^ +loss 1\.855 · steps 40 · tokens_per_s 2310/);
    expect(lines[5]).toMatch(/^ +tokens_per_s 812\.3$/);
  });

  it('keeps the full time and names where there is room, and cuts only the args', () => {
    const wide = historyTable(records, new Map(), 100);
    expect(wide[2]).toMatch(/^2 {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}✓ {2}train\/finetuner {2}--dataset_path .*…\s+2 m 5 s$/);
    expect(wide[3]).toContain(`output_model_path ${'a'.repeat(12)}`);
    const narrow = historyTable(records, new Map(), 60);
    expect(narrow[2]).toMatch(/^2 {2}\d\d-\d\d \d\d:\d\d {2}✓ {2}finetuner {2}--dataset_path .*…\s+2 m 5 s$/);
  });
});

describe('smox history', () => {
  it('says when there is nothing, prints the table, and JSON lines with --json', async () => {
    expect((await runCommand(historyCmd, cwd)).lines).toEqual(['no steps recorded here yet']);
    await appendHistory(cwd, rec({ name: 'demo/none', args: { a: 1 } }));
    const { lines } = await runCommand(historyCmd, cwd);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/demo\/none\s+--a 1\s+1\.5 s$/);
    const json = await runCommand(historyCmd, cwd, [], true);
    expect(JSON.parse(json.lines[0])).toMatchObject({ name: 'demo/none', args: { a: 1 } });
  });
});
