import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { readState } from '../../src/core/state.js';
import { Engine } from '../../src/engine/engine.js';
import { readCheckpoint } from '../../src/models/checkpoint.js';
import { TINY_LLAMA } from '../transforms/fixtures.js';
import { run, writeTinyModel } from './fixtures.js';


const engine = new Engine({ threads: 1 });
let cwd: string;
beforeEach(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-pruner-'));
  writeTinyModel(path.join(cwd, 'tiny'));
  writeTinyModel(path.join(cwd, 'llama'), TINY_LLAMA);
});
afterAll(() => engine.release());

const zerosOf = (d: Float32Array) => d.reduce((n, x) => n + (x === 0 ? 1 : 0), 0);

describe('transform/pruner', () => {
  it('prunes each linear tensor to the fraction, leaves the rest, writes provenance and advances the state', async () => {
    const r = await run(cwd, engine, ['transform/pruner', '--model-path', 'tiny', '--output-model-path', 'pruned', '--pruning-percentage', '0.3']);
    expect(r.ok, r.error).toBe(true);
    const before = readCheckpoint(path.join(cwd, 'tiny'));
    const after = readCheckpoint(path.join(cwd, 'pruned'));
    expect([...after.weights.keys()].sort()).toEqual([...before.weights.keys()].sort());
    for (const [name, t] of after.weights) {
      if (/c_(attn|proj|fc)\.weight$/.test(name)) expect(zerosOf(t.data)).toBe(Math.round(0.3 * t.data.length));
      else expect(t.data).toEqual(before.weights.get(name)!.data);
    }
    expect(r.result!.metrics!.sparsity).toBeCloseTo(0.3, 3);
    expect(after.provenance).toMatchObject({ tool: 'transform/pruner', parent: 'tiny', args: { pruning_percentage: 0.3, layer_type: 'linear' } });
    expect(after.provenance!.metrics!.sparsity).toBeCloseTo(0.3, 3);
    expect(after.tokenizerFiles).toContain('tokenizer.json');
    expect(readState(cwd)?.model_path).toBe('pruned');
    // The engine adopted it: sampling from the new state's model works from memory.
    const s = await run(cwd, engine, ['infer/sampler', '--max-new-tokens', '3', '--no-do-sample']);
    expect(s.ok, s.error).toBe(true);
  });

  it('writes an untied LM head, pruned under all', async () => {
    const r = await run(cwd, engine, ['transform/pruner', '--model-path', 'llama', '--output-model-path', 'p', '--layer-type', 'all', '--pruning-percentage', '0.5']);
    expect(r.ok, r.error).toBe(true);
    const after = readCheckpoint(path.join(cwd, 'p'));
    const head = after.weights.get('lm_head.weight')!;
    expect(zerosOf(head.data)).toBe(head.data.length / 2);
    expect(zerosOf(after.weights.get('model.embed_tokens.weight')!.data)).toBe(head.data.length / 2);
    expect(zerosOf(after.weights.get('model.norm.weight')!.data)).toBe(0);
  });

  it('refuses conv on a llama and a fraction out of range, before writing anything', async () => {
    const r = await run(cwd, engine, ['transform/pruner', '--model-path', 'llama', '--output-model-path', 'p', '--layer-type', 'conv']);
    expect(r.error).toMatch(/^--layer_type conv selects no parameters of this llama model/);
    expect(fs.existsSync(path.join(cwd, 'p'))).toBe(false);
    const bad = await run(cwd, engine, ['transform/pruner', '--model-path', 'tiny', '--pruning-percentage', '1.5']);
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatch(/pruning_percentage/);
    expect(readState(cwd)?.model_path ?? null).toBe(null);
  });

  it('refuses an output it does not own (the cwd, a user model directory) before running, and re-runs onto its own output', async () => {
    // The cwd: holds .smolbox/ (history), tiny/, llama/: none of it may go.
    const init = await run(cwd, engine, ['transform/pruner', '--model-path', 'tiny', '--output-model-path', 'mine']);
    expect(init.ok, init.error).toBe(true);
    const history = fs.readFileSync(path.join(cwd, '.smolbox', 'state_history.jsonl'), 'utf8');
    const here = await run(cwd, engine, ['transform/pruner', '--model-path', 'tiny', '--output-model-path', '.']);
    expect(here.failure).toBe('usage');
    expect(here.error).toMatch(/^refusing to replace .*: smolbox did not write it .*pass another --output_model_path/);
    expect(fs.readFileSync(path.join(cwd, '.smolbox', 'state_history.jsonl'), 'utf8')).toBe(history);
    // A Hugging Face directory of the user's (config.json but no smolbox.json) with their notes.
    const user = path.join(cwd, 'user-model');
    fs.mkdirSync(user);
    fs.copyFileSync(path.join(cwd, 'tiny', 'config.json'), path.join(user, 'config.json'));
    fs.writeFileSync(path.join(user, 'notes.md'), 'mine');
    const theirs = await run(cwd, engine, ['transform/pruner', '--model-path', 'tiny', '--output-model-path', 'user-model']);
    expect(theirs.error).toMatch(/^refusing to replace .*user-model: smolbox did not write it/);
    expect(fs.readdirSync(user).sort()).toEqual(['config.json', 'notes.md']);
    // Its own earlier output is replaced, as a re-run should.
    const again = await run(cwd, engine, ['transform/pruner', '--model-path', 'tiny', '--output-model-path', 'mine', '--pruning-percentage', '0.5']);
    expect(again.ok, again.error).toBe(true);
    expect(readCheckpoint(path.join(cwd, 'mine')).provenance?.args).toMatchObject({ pruning_percentage: 0.5 });
  });
});
