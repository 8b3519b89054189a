import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { readState } from '../../src/core/state.js';
import { Engine } from '../../src/engine/engine.js';
import { readCheckpoint } from '../../src/models/checkpoint.js';
import { resolveArchitecture } from '../../src/models/index.js';
import { TINY_LLAMA } from '../transforms/fixtures.js';
import { run, writeTinyModel } from './fixtures.js';

const engine = new Engine({ threads: 1 });
let cwd: string;
beforeEach(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-editor-'));
  writeTinyModel(path.join(cwd, 'tiny'));
});
afterAll(() => engine.release());

const edit = (...argv: string[]) => run(cwd, engine, ['transform/editor', '--model-path', 'tiny', '--output-model-path', 'out', ...argv]);

describe('transform/editor', () => {
  it('zeroes exactly the parameters whose whole name matches', async () => {
    const r = await edit('--param-pattern', 'transformer\\.h\\.0\\.attn\\..*');
    expect(r.ok, r.error).toBe(true);
    const before = readCheckpoint(path.join(cwd, 'tiny')).weights;
    const after = readCheckpoint(path.join(cwd, 'out')).weights;
    const changed = [...after].filter(([, t]) => t.data.every((x) => x === 0)).map(([n]) => n).sort();
    expect(changed).toEqual(['transformer.h.0.attn.c_attn.bias', 'transformer.h.0.attn.c_attn.weight', 'transformer.h.0.attn.c_proj.bias', 'transformer.h.0.attn.c_proj.weight']);
    expect(after.get('transformer.h.1.attn.c_attn.weight')!.data).toEqual(before.get('transformer.h.1.attn.c_attn.weight')!.data);
    expect(r.result!.metrics).toMatchObject({ tensors: 4 });
    expect(readState(cwd)?.model_path).toBe('out');
  });

  it('an expression implies reset_type expression and maps every value', async () => {
    const r = await edit('--param-pattern', '.*ln_f.*', '--param-expression', 'w * 0.5 + 1');
    expect(r.ok, r.error).toBe(true);
    const before = readCheckpoint(path.join(cwd, 'tiny')).weights.get('transformer.ln_f.bias')!.data;
    const out = readCheckpoint(path.join(cwd, 'out'));
    const after = out.weights.get('transformer.ln_f.bias')!.data;
    after.forEach((v, i) => expect(v).toBeCloseTo(before[i] * 0.5 + 1, 6));
    expect(out.provenance!.args).toMatchObject({ reset_type: 'expression', param_expression: 'w * 0.5 + 1' });
  });

  it('random redraws from the architecture\'s init with the seed', async () => {
    const r = await edit('--reset-type', 'random', '--param-pattern', 'transformer\\.h\\.1\\.mlp\\.c_proj\\.weight|transformer\\.ln_f\\.weight', '--seed', '9');
    expect(r.ok, r.error).toBe(true);
    const out = readCheckpoint(path.join(cwd, 'out'));
    const { arch, cfg } = resolveArchitecture(out.config);
    const fresh = arch.init(cfg, new Random(9));
    expect(out.weights.get('transformer.h.1.mlp.c_proj.weight')!.data).toEqual(fresh.get('transformer.h.1.mlp.c_proj.weight')!.data);
    expect(out.weights.get('transformer.ln_f.weight')!.data.every((x) => x === 1)).toBe(true);
  });

  it('keeps an untied head when editing a llama', async () => {
    writeTinyModel(path.join(cwd, 'llama'), TINY_LLAMA);
    const r = await run(cwd, engine, ['transform/editor', '--model-path', 'llama', '--output-model-path', 'out', '--param-pattern', 'lm_head\\.weight', '--param-expression=-w']);
    expect(r.ok, r.error).toBe(true);
    const head = readCheckpoint(path.join(cwd, 'llama')).weights.get('lm_head.weight')!.data;
    expect(readCheckpoint(path.join(cwd, 'out')).weights.get('lm_head.weight')!.data).toEqual(head.map((x) => -x));
  });

  it.each([
    [['--param-pattern', 'nothing\\.here'], /^--param_pattern "nothing\\.here" matches no parameter/],
    [['--param-pattern', 'transformer\\.(h'], /^--param_pattern "transformer\\.\(h" is not a valid regex/],
    [['--param-expression', 'w +'], /^--param_expression "w \+": expected/],
    [['--reset-type', 'expression'], /^--reset_type expression needs --param_expression/],
    [['--reset-type', 'random', '--param-expression', 'w'], /^--param_expression only applies to --reset_type expression/],
    [['--param-pattern', '.*ln_f\\.weight', '--param-expression', 'log(w - 100)'], /^--param_expression gives NaN for transformer\.ln_f\.weight/],
  ])('refuses %j in one line and writes nothing', async (argv, re) => {
    const r = await edit(...argv);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(re);
    expect(r.error!.split('\n')).toHaveLength(1);
    expect(fs.existsSync(path.join(cwd, 'out'))).toBe(false);
    expect(readState(cwd)?.model_path ?? null).toBe(null);
  });
});
