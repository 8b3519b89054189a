import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HistoryRecord } from '../../src/core/history.js';
import { exportScript, formatArgs, shellQuote } from '../../src/core/replay.js';
import { freshState, type SmolboxState } from '../../src/core/state.js';
import { arg } from '../../src/core/tool.js';

const U1 = '.smolbox/11111111-1111-4111-8111-111111111111';
const U2 = '.smolbox/22222222-2222-4222-8222-222222222222';
const U3 = '.smolbox/33333333-3333-4333-8333-333333333333';
const S0 = freshState(new Date('2025-01-01T00:00:00Z'));
const st = (over: Partial<SmolboxState>): SmolboxState => ({ ...S0, ...over });

const cmd = (name: string, args: Record<string, unknown>, before: Partial<SmolboxState>, after: Partial<SmolboxState>): HistoryRecord => ({
  time: S0.created_at, kind: 'command', name, args, status: 'ok', duration_ms: 1, state_before: st(before), state_after: st(after),
});
const tool = (name: string, args: Record<string, unknown>, before: Partial<SmolboxState>, after: Partial<SmolboxState>, over: Partial<HistoryRecord> = {}): HistoryRecord => ({
  time: S0.created_at, kind: 'tool', name, args, status: 'ok', duration_ms: 5, state_before: st(before), state_after: st(after), ...over,
});

/** The script's body: the lines after `set -euo pipefail` and the blank one. */
const body = (script: string) => script.split('\n').slice(script.split('\n').indexOf('set -euo pipefail') + 2).filter(Boolean);

/** A session: init, set, two chained tool steps, a step back to the first output, a step from it. */
const SESSION: HistoryRecord[] = [
  cmd('init', {}, {}, {}),
  cmd('set', { key: 'model_path', value: 'gpt2' }, {}, { model_path: 'gpt2' }),
  tool('transform/pruner', { model_path: 'gpt2', output_model_path: U1, pruning_percentage: 0.5, seed: 7 }, { model_path: 'gpt2' }, { model_path: U1 }),
  tool('transform/pruner', { model_path: U1, output_model_path: U2, pruning_percentage: 0.1, seed: 8 }, { model_path: U1 }, { model_path: U2 }),
  tool('infer/sampler', { model_path: U2, output_model_path: U3, prompt: 'x' }, { model_path: U2 }, { model_path: U2 }, { status: 'error', error: 'boom' }),
  cmd('set', { key: 'model_path', value: U1 }, { model_path: U2 }, { model_path: U1 }),
  tool('infer/sampler', { model_path: U1, prompt: "it's", do_sample: false, seed: 3 }, { model_path: U1 }, { model_path: U1 }),
  tool('eval/perplexity', { model_path: `${U2}/`, limit: 4 }, { model_path: U1 }, { model_path: U1 }),
];

describe('exportScript', () => {
  it('writes one line per successful step, paths left to the state, earlier outputs as variables', () => {
    const script = exportScript(SESSION, (r) => formatArgs(r.args));
    expect(script.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(script).toContain('\nset -euo pipefail\n');
    expect(body(script)).toEqual([
      'smox init',
      'smox set model_path gpt2',
      'smox transform/pruner --pruning_percentage 0.5 --seed 7',
      'model_1="$(smox get model_path)"',
      'smox transform/pruner --pruning_percentage 0.1 --seed 8',
      'model_2="$(smox get model_path)"',
      'smox set model_path "$model_1"',
      "smox infer/sampler --prompt 'it'\\''s' --no-do_sample --seed 3",
      'smox eval/perplexity --model_path "$model_2"/ --limit 4',
    ]);
    expect(script).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
  });

  it('keeps explicit outputs and inputs that differ from the state', () => {
    const script = exportScript([
      cmd('set', { key: 'model_path', value: 'gpt2' }, {}, { model_path: 'gpt2' }),
      tool('t/x', { model_path: 'other', output_model_path: 'out-a', n: 1 }, { model_path: 'gpt2' }, { model_path: 'out-a' }),
    ]);
    expect(body(script)).toEqual(['smox set model_path gpt2', 'smox t/x --model_path other --output_model_path out-a --n 1']);
  });

  it('starts from the state the history began in when it does not begin with init', () => {
    const script = exportScript([
      tool('t/x', { model_path: 'gpt2', output_model_path: U1 }, { model_path: 'gpt2', dataset_path: U3 }, { model_path: U1, dataset_path: U3 }),
    ]);
    expect(body(script)).toEqual([
      '# the state the session started from',
      'smox set model_path gpt2',
      `# skipped: smox set dataset_path ${U3} (made before this history)`,
      'smox t/x',
    ]);
  });

  it('comments out what no step in the script makes', () => {
    const script = exportScript([
      cmd('init', {}, {}, {}),
      cmd('set', { key: 'model_path', value: U3 }, {}, { model_path: U3 }),
      tool('t/x', { model_path: 'm', base: U2 }, { model_path: 'm' }, { model_path: 'm' }),
    ]);
    expect(body(script)).toEqual([
      'smox init',
      `# skipped: smox set model_path ${U3} (no step in this script makes it)`,
      '# skipped: --base named a .smolbox/ path no step in this script makes',
      `# smox t/x`,
    ]);
  });

  it('uses the schema to know which arguments resolve from the state', () => {
    const schema = { base: arg.modelIn(), dest: arg.modelOut(), model_path: arg.string('x', 'not a path here') };
    const records = [tool('t/y', { base: 'gpt2', dest: U1, model_path: 'gpt2' }, { model_path: 'gpt2' }, { model_path: U1 })];
    expect(body(exportScript(records, undefined, { schemaOf: () => schema })).at(-1)).toBe('smox t/y --model_path gpt2');
    // Without the schema, names decide: base and dest are plain arguments, and dest's uuid is unportable.
    expect(body(exportScript(records)).at(-2)).toMatch(/^# skipped: --dest/);
  });

  it('replays a resumed run whole: the interrupted run is not in the script', () => {
    const schema = { model_path: arg.modelIn(), output_model_path: arg.modelOut(), resume: { ...arg.boolean(false, 'go on'), resumes: true } };
    const records = [
      tool('train/x', { model_path: 'gpt2', output_model_path: U1, resume: false, seed: 4 }, { model_path: 'gpt2' }, { model_path: 'gpt2' }, { status: 'cancelled' }),
      tool('train/x', { model_path: 'gpt2', output_model_path: U1, resume: true, seed: 4 }, { model_path: 'gpt2' }, { model_path: U1 }),
    ];
    expect(body(exportScript(records, undefined, { schemaOf: () => schema }))).toEqual(['# the state the session started from', 'smox set model_path gpt2', 'smox train/x --seed 4']);
  });

  it('skips records that are not steps, and tool actions follow the name', () => {
    const script = exportScript([
      cmd('python-state', {}, {}, { model_path: 'gpt2' }),
      cmd('init', {}, {}, {}),
      tool('infer/tweaker', { model_path: 'gpt2' }, { model_path: 'gpt2' }, { model_path: 'gpt2' }, { action: 'list' }),
      tool('t/z', {}, {}, {}, { status: 'cancelled' }),
    ]);
    expect(body(script)).toEqual(['smox init', 'smox infer/tweaker list']);
  });
});

describe('formatArgs and shellQuote', () => {
  it('writes booleans, lists, numbers and leaves out nulls', () => {
    expect(formatArgs({ a: true, b: false, c: ['x', 'y'], d: [1, 2.5], e: null, f: -3, g: 1e-7, h: '' })).toBe(
      "--a --no-b --c x,y --d 1,2.5 --f -3 --g 1e-7 --h ''",
    );
  });

  it('writes a value that starts with a dash as --name=value', () => {
    expect(formatArgs({ prompt: '--help me' })).toBe("'--prompt=--help me'");
  });

  it('quotes for bash', () => {
    expect(shellQuote('plain/path-1.2')).toBe('plain/path-1.2');
    expect(shellQuote("a b'c")).toBe("'a b'\\''c'");
    expect(shellQuote('$HOME')).toBe("'$HOME'");
  });
});

describe('the script in bash', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-replay-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('hands every argument to smox exactly as recorded', () => {
    // A stand-in smox that logs its argv, and answers `get` with a path.
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    const log = path.join(dir, 'argv.jsonl');
    fs.writeFileSync(
      path.join(bin, 'smox'),
      `#!${process.execPath}\nconst fs = require('node:fs');\nconst a = process.argv.slice(2);\nfs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(a) + '\\n');\nif (a[0] === 'get') console.log('.smolbox/new dir');\n`,
      { mode: 0o755 },
    );
    const nasty = `it's "quoted" $HOME \`x\` \\ ;|& *`;
    const records = [
      cmd('init', {}, {}, {}),
      cmd('set', { key: 'model_path', value: 'my model' }, {}, { model_path: 'my model' }),
      tool('t/x', { model_path: 'my model', output_model_path: U1, prompt: nasty, dash: '-x', list: ['a b', 'c'] }, { model_path: 'my model' }, { model_path: U1 }),
      tool('t/x', { model_path: U1, prompt: 'p' }, { model_path: U1 }, { model_path: U1 }),
      cmd('set', { key: 'model_path', value: U1 }, { model_path: U1 }, { model_path: U1 }),
    ];
    const file = path.join(dir, 'replay.sh');
    fs.writeFileSync(file, exportScript(records));
    const r = spawnSync('bash', [file], { cwd: dir, env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` }, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const calls = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(calls).toEqual([
      ['init'],
      ['set', 'model_path', 'my model'],
      ['t/x', '--prompt', nasty, '--dash=-x', '--list', 'a b,c'],
      ['get', 'model_path'],
      ['t/x', '--prompt', 'p'],
      ['set', 'model_path', '.smolbox/new dir'],
    ]);
  });
});
