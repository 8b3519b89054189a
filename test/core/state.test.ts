import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  formatState, freshState, initState, loadOrCreateState, nextState, readState, resetState, type SmolboxState,
  stateDir, stateKey, updateState,
} from '../../src/core/state.js';
import { UserError } from '../../src/core/tool.js';

let cwd: string;
beforeEach(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-state-'));
});
afterEach(() => fs.rmSync(cwd, { recursive: true, force: true }));

const file = () => path.join(cwd, '.smolbox', 'state.json');

/** A state.json exactly as the Python smolbox writes it: json.dump(indent=2, sort_keys=True). */
const PYTHON_TEXT = `{
  "created_at": "2025-03-01T10:00:00.123456",
  "dataset_path": "karpathy/tiny_shakespeare",
  "model_path": ".smolbox/0b6f5a7e-1f7a-4a55-9a43-2d2f9c4c1a11",
  "output_dataset_path": null,
  "output_model_path": null,
  "updated_at": "2025-03-01T10:05:00.654321",
  "zz_python_only": {"b": 1, "a": [1, 2]}
}`;

describe('readState', () => {
  it('is null where smolbox never ran, and creates nothing', () => {
    expect(readState(cwd)).toBeNull();
    expect(fs.existsSync(stateDir(cwd))).toBe(false);
  });

  it('reads a Python-written state', () => {
    fs.mkdirSync(stateDir(cwd));
    fs.writeFileSync(file(), PYTHON_TEXT);
    expect(readState(cwd)).toMatchObject({ dataset_path: 'karpathy/tiny_shakespeare', output_model_path: null, created_at: '2025-03-01T10:00:00.123456' });
  });

  it('fills missing path keys with null', () => {
    fs.mkdirSync(stateDir(cwd));
    fs.writeFileSync(file(), '{"model_path": "gpt2", "created_at": "t", "updated_at": "t"}');
    expect(readState(cwd)).toEqual({ model_path: 'gpt2', output_model_path: null, dataset_path: null, output_dataset_path: null, created_at: 't', updated_at: 't' });
  });

  it.each([
    ['{ not json', /state\.json is not valid JSON .*smox init/],
    ['[1, 2]', /state\.json is not a JSON object/],
    ['{"model_path": 3}', /model_path must be a string or null \(got 3\)/],
  ])('a corrupt file %j is a one-line UserError', (text, message) => {
    fs.mkdirSync(stateDir(cwd));
    fs.writeFileSync(file(), text);
    expect(() => readState(cwd)).toThrow(UserError);
    expect(() => readState(cwd)).toThrow(message);
  });
});

describe('writing', () => {
  it('loadOrCreateState creates .smolbox/ with a fresh state, then returns the same one', async () => {
    const s = await loadOrCreateState(cwd);
    expect(s).toMatchObject({ model_path: null, output_model_path: null, dataset_path: null, output_dataset_path: null });
    expect(Number.isNaN(Date.parse(s.created_at))).toBe(false);
    expect(await loadOrCreateState(cwd)).toEqual(s);
  });

  it('updateState writes pretty, sorted JSON and stamps updated_at', async () => {
    const { before, after } = await updateState(cwd, (s) => ({ ...s, model_path: 'gpt2' }));
    expect(before.model_path).toBeNull();
    expect(after.model_path).toBe('gpt2');
    const text = fs.readFileSync(file(), 'utf8');
    expect(text).toBe(formatState(after));
    const keys = [...text.matchAll(/^ {2}"(\w+)":/gm)].map((m) => m[1]);
    expect(keys).toEqual([...keys].sort());
    expect(text.endsWith('}\n')).toBe(true);
    expect(Date.parse(after.updated_at)).toBeGreaterThanOrEqual(Date.parse(before.updated_at));
    expect(fs.readdirSync(stateDir(cwd))).toEqual(['state.json']);
  });

  it('keeps keys it does not know through a rewrite (Python compatibility)', async () => {
    fs.mkdirSync(stateDir(cwd));
    fs.writeFileSync(file(), PYTHON_TEXT);
    await updateState(cwd, (s) => ({ ...s, model_path: 'gpt2' }));
    const raw = JSON.parse(fs.readFileSync(file(), 'utf8'));
    expect(raw.zz_python_only).toEqual({ a: [1, 2], b: 1 });
    expect(raw.created_at).toBe('2025-03-01T10:00:00.123456');
    expect(raw.dataset_path).toBe('karpathy/tiny_shakespeare');
    expect(raw.model_path).toBe('gpt2');
    // Nested keys are sorted too, as Python's sort_keys does.
    expect(fs.readFileSync(file(), 'utf8')).toMatch(/"zz_python_only": \{\n {4}"a": \[/);
  });

  it('a change that throws leaves the file as it was', async () => {
    await updateState(cwd, (s) => ({ ...s, model_path: 'a' }));
    const before = fs.readFileSync(file(), 'utf8');
    await expect(updateState(cwd, () => { throw new Error('no'); })).rejects.toThrow('no');
    expect(fs.readFileSync(file(), 'utf8')).toBe(before);
    expect(fs.readdirSync(stateDir(cwd))).toEqual(['state.json']);
  });

  it('concurrent updates in one process are all applied', async () => {
    await Promise.all(Array.from({ length: 20 }, () =>
      updateState(cwd, (s) => ({ ...s, n: ((s as unknown as { n?: number }).n ?? 0) + 1 }) as SmolboxState)));
    expect((readState(cwd) as unknown as { n: number }).n).toBe(20);
  });
});

describe('nextState', () => {
  const base = freshState(new Date('2025-01-01T00:00:00Z'));

  it('moves outputs into inputs and clears the outputs', () => {
    const s = { ...base, model_path: 'a', output_model_path: 'b', dataset_path: 'd', output_dataset_path: 'e' };
    expect(nextState(s)).toEqual({ ...base, model_path: 'b', output_model_path: null, dataset_path: 'e', output_dataset_path: null });
  });

  it('keeps an input whose output is unset', () => {
    const s = { ...base, model_path: 'a', output_model_path: null, dataset_path: 'd', output_dataset_path: 'e' };
    expect(nextState(s)).toMatchObject({ model_path: 'a', dataset_path: 'e', output_dataset_path: null });
  });

  it('is pure', () => {
    const s = { ...base, output_model_path: 'b' };
    nextState(s);
    expect(s.output_model_path).toBe('b');
  });
});

describe('init and reset', () => {
  it('init clears outputs, history and state, and writes a fresh state', async () => {
    await updateState(cwd, (s) => ({ ...s, model_path: 'gpt2' }));
    fs.mkdirSync(path.join(stateDir(cwd), 'some-output'));
    fs.writeFileSync(path.join(stateDir(cwd), 'state_history.jsonl'), '{}\n');
    let seen: SmolboxState | undefined;
    const s = await initState(cwd, (state) => (seen = state));
    expect(seen).toEqual(s);
    expect(s.model_path).toBeNull();
    expect(fs.readdirSync(stateDir(cwd))).toEqual(['state.json']);
    expect(readState(cwd)).toEqual(s);
  });

  it('init repairs a corrupt state', async () => {
    fs.mkdirSync(stateDir(cwd));
    fs.writeFileSync(file(), '{ broken');
    await initState(cwd);
    expect(readState(cwd)?.model_path).toBeNull();
  });

  it('reset removes .smolbox/ and is fine when there is none', async () => {
    await updateState(cwd, (s) => ({ ...s, model_path: 'gpt2' }));
    await resetState(cwd);
    expect(fs.existsSync(stateDir(cwd))).toBe(false);
    await resetState(cwd);
    expect(fs.existsSync(stateDir(cwd))).toBe(false);
  });
});

describe('stateKey', () => {
  it('accepts the four keys and lists them otherwise', () => {
    expect(stateKey('dataset_path')).toBe('dataset_path');
    expect(() => stateKey('created_at')).toThrow('unknown state key "created_at"; keys: model_path, output_model_path, dataset_path, output_dataset_path');
  });
});
