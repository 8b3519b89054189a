import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendHistory, type HistoryRecord, historyPath, PYTHON_SNAPSHOT, readHistory, recordCommand } from '../../src/core/history.js';
import { readState } from '../../src/core/state.js';

let cwd: string;
beforeEach(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-history-'));
});
afterEach(() => fs.rmSync(cwd, { recursive: true, force: true }));

const record = (over: Partial<HistoryRecord> = {}): HistoryRecord => ({
  time: '2025-01-01T00:00:00.000Z', kind: 'tool', name: 'transform/pruner', args: { pruning_percentage: 0.2, seed: 7 },
  status: 'ok', duration_ms: 12, state_before: null, state_after: null, ...over,
});

describe('appendHistory / readHistory', () => {
  it('appends one JSON line per record and reads them back in order', async () => {
    expect(readHistory(cwd)).toEqual([]);
    await appendHistory(cwd, record());
    await appendHistory(cwd, record({ name: 'infer/sampler', status: 'error', error: 'boom' }));
    const lines = fs.readFileSync(historyPath(cwd), 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(readHistory(cwd).map((r) => [r.name, r.status])).toEqual([['transform/pruner', 'ok'], ['infer/sampler', 'error']]);
    expect(readHistory(cwd)[0]).toEqual(record());
  });

  it('keeps every record under concurrent appends', async () => {
    await Promise.all(Array.from({ length: 30 }, (_, i) => appendHistory(cwd, record({ args: { i } }))));
    expect(readHistory(cwd).map((r) => r.args.i).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('turns Python state snapshots into records and skips lines that are neither', () => {
    fs.mkdirSync(path.join(cwd, '.smolbox'));
    const python = { created_at: '2025-03-01T10:00:00.1', dataset_path: null, model_path: 'gpt2', output_dataset_path: null, output_model_path: null, updated_at: '2025-03-01T10:05:00.2' };
    fs.writeFileSync(historyPath(cwd), [JSON.stringify(python), 'not json', '[1]', '{"hello": 1}', JSON.stringify(record()), '{"kind": "tool", "na'].join('\n'));
    const records = readHistory(cwd);
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ name: PYTHON_SNAPSHOT, kind: 'command', time: '2025-03-01T10:05:00.2', state_after: python });
    expect(records[1]).toEqual(record());
  });

  it('recordCommand changes the state and records the change in one step', async () => {
    const r = await recordCommand(cwd, 'set', { key: 'model_path', value: 'gpt2' }, (s) => ({ ...s, model_path: 'gpt2' }));
    expect(r).toMatchObject({ kind: 'command', name: 'set', status: 'ok', state_before: { model_path: null }, state_after: { model_path: 'gpt2' } });
    expect(readState(cwd)?.model_path).toBe('gpt2');
    expect(readHistory(cwd)).toEqual([r]);
  });
});
