/**
 * Hostile or damaged input (issue 12 items 6 and 7): patterns that backtrack exponentially,
 * config.json sizes the weights cannot back, weights holding NaN or Inf, a loss that becomes
 * NaN. Each ends in one line naming the culprit, nothing on disk changed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { readCheckpoint, writeCheckpoint } from '../../src/models/checkpoint.js';
import { TINY_LLAMA } from '../transforms/fixtures.js';
import { run, writeTinyModel } from '../tools/fixtures.js';
import { snapshot, tally } from './inject.js';

const engine = new Engine({ threads: 1 });
let cwd: string;
beforeAll(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-hostile-'));
  writeTinyModel(path.join(cwd, 'tiny'));
  writeTinyModel(path.join(cwd, 'llama'), TINY_LLAMA);
});
afterAll(async () => {
  await engine.release();
  fs.rmSync(cwd, { recursive: true, force: true });
});

/** Patterns whose backtracking over a name like transformer.h.0.attn.c_attn.weight takes ages. */
const REDOS = ['(.*.*.*)*X', '(.*)*(.*)*(.*)*Z', '((.+)+)+#', '(\\w|\\W|.)*Q'];

describe('user regexes run with a time budget', () => {
  it.each(REDOS)('--param_pattern %s ends in one line naming the pattern, the output not written', async (pattern) => {
    const r = await run(cwd, engine, ['transform/editor', '--model-path', 'tiny', '--param-pattern', pattern, '--output-model-path', 'edited']);
    expect(r.error).toBe(`--param_pattern "${pattern}" takes over 0.5 s to match the parameter names (nested quantifiers like (a*)* backtrack exponentially); simplify it`);
    expect(fs.existsSync(path.join(cwd, 'edited'))).toBe(false);
  });

  it.each(REDOS)('--deltas %s=1 ends in one line naming the pattern', async (pattern) => {
    const r = await run(cwd, engine, ['infer/tweaker', '--model-path', 'tiny', '--deltas', `${pattern}=1`, '--max-length', '20']);
    expect(r.error).toMatch(/^--deltas "[^"]+" takes over 0\.5 s to match the parameter names/);
  });

  it('an ordinary pattern still matches', async () => {
    const r = await run(cwd, engine, ['transform/editor', '--model-path', 'tiny', '--param-pattern', 'transformer\\.h\\.0\\..*', '--output-model-path', 'edited']);
    expect(r.ok, r.error).toBe(true);
    tally('ReDoS patterns', { cases: REDOS.length * 2 + 1, faults: REDOS.length * 2, lost: 0 });
  });
});

describe('config sizes are checked against the weights before anything is built from them', () => {
  const CASES: [string, string, Record<string, unknown>][] = [
    ['tiny', 'n_layer', { n_layer: 1e9 }],
    ['tiny', 'n_embd', { n_embd: 1e9 }],
    ['tiny', 'n_head', { n_head: 1e9 }],
    ['tiny', 'vocab_size', { vocab_size: 1e12 }],
    ['llama', 'num_hidden_layers', { num_hidden_layers: 1e9 }],
    ['llama', 'intermediate_size', { intermediate_size: 1e9 }],
    ['llama', 'hidden_size', { hidden_size: 1e9 }],
    ['llama', 'num_hidden_layers', { num_hidden_layers: -3 }],
  ];
  it.each(CASES)('%s with %s too large: one line naming the key, the model untouched', async (base, key, change) => {
    const dir = path.join(cwd, `big-${key}`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.cpSync(path.join(cwd, base), dir, { recursive: true });
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, ...change }));
    const before = snapshot(dir);
    const r = await run(cwd, engine, ['io/importer', '--model-path', path.basename(dir)]);
    expect(r.error).toMatch(new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/config\\.json: ${key} is ${change[key]}, but the weights hold \\d+ (tensors|values in all); the config does not belong to these weights$`));
    expect(snapshot(dir)).toEqual(before);
  });
  it.each([['gpt2', ['--num-layers', '1000000000']], ['gpt2', ['--hidden-size', '4000000', '--num-heads', '1']], ['llama', ['--num-layers', '100000000']]])(
    'the reinitializer asked for a %s of %j refuses in one line before drawing a weight',
    async (base, flags) => {
      const r = await run(cwd, engine, ['transform/reinitializer', '--model-path', base === 'gpt2' ? 'tiny' : 'llama', ...flags, '--output-model-path', 'huge']);
      expect(r.error).toMatch(/^a (gpt2|llama) of \d+ layers × \d+ wide \(vocabulary \d+\) needs at least [\d.e+]+ GiB for its weights, more than this machine's [\d.]+ GiB; choose smaller sizes$/);
      expect(fs.existsSync(path.join(cwd, 'huge'))).toBe(false);
    },
  );

  it('records its counts', () => tally('oversized configs', { cases: CASES.length + 3, faults: CASES.length + 3, lost: 0 }));
});

describe('NaN and Inf in weights', () => {
  const damaged = (name: string, value: number, at: number) => {
    const src = readCheckpoint(path.join(cwd, 'tiny'));
    const weights = new Map(src.weights);
    const t = weights.get(name)!;
    const data = new Float32Array(t.data);
    data[at] = value;
    weights.set(name, { shape: t.shape, data });
    const dir = path.join(cwd, `bad-${value}`);
    writeCheckpoint(dir, { ...src, weights });
    return path.basename(dir);
  };

  it.each([[NaN, 'transformer.h.1.mlp.c_fc.weight', 7], [Infinity, 'transformer.wte.weight', 0], [-Infinity, 'transformer.ln_f.bias', 3]])(
    '%s is refused at import naming the tensor; --allow_nonfinite loads it with a warning; other tools refuse it',
    async (value, name, at) => {
      const dir = damaged(name, value, at);
      const plain = new Engine({ threads: 1 });
      try {
        const r = await run(cwd, plain, ['io/importer', '--model-path', dir]);
        expect(r.error).toBe(`${path.join(cwd, dir)}: tensor ${name} holds ${value} (at index ${at}); the weights are damaged — re-download or re-export them, or pass --allow_nonfinite to io/importer to load them anyway`);
        const sample = await run(cwd, plain, ['infer/sampler', '--model-path', dir, '--max-new-tokens', '2']);
        expect(sample.error).toMatch(new RegExp(`tensor ${name.replace(/\./g, '\\.')} holds`));
      } finally {
        await plain.release();
      }
      const allowed = new Engine({ threads: 1 });
      try {
        const r = await run(cwd, allowed, ['io/importer', '--model-path', dir, '--allow-nonfinite']);
        expect(r.ok, r.error).toBe(true);
        expect(r.events).toContainEqual(expect.objectContaining({ type: 'log', level: 'warn', message: `tensor ${name} holds ${value} (at index ${at}); other tools will refuse this model` }));
      } finally {
        await allowed.release();
      }
    },
  );

  it('a loss that becomes NaN or Inf stops training at once with the step, the last good checkpoint kept', async () => {
    fs.writeFileSync(path.join(cwd, 'train.txt'), 'the cat sat on the mat. '.repeat(60));
    const r = await run(cwd, engine, ['train/finetuner', '--model-path', 'tiny', '--dataset-path', 'train.txt', '--max-seq-length', '32', '--batch-size', '4',
      '--learning-rate', '1e30', '--grad-clip', '0', '--seed', '1', '--max-steps', '20', '--save-every', '1', '--output-model-path', 'diverged']);
    const m = /^the loss became (NaN|Infinity) at step (\d+); lower --learning_rate \(now 1e\+30\) or raise --warmup_steps$/.exec(r.error ?? '');
    expect(m, r.error).not.toBeNull();
    const step = Number(m![2]);
    expect(step).toBeGreaterThan(1);
    const kept = readCheckpoint(path.join(cwd, 'diverged'));
    expect(kept.provenance?.metrics?.step).toBe(step - 1);
    expect(fs.existsSync(path.join(cwd, 'diverged', 'training_state', 'trainer_state.json'))).toBe(true);
    tally('non-finite weights and loss', { cases: 4, faults: 4, lost: 0 });
  });
});
