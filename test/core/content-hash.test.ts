import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashDirectory } from '../../src/core/content-hash.js';

let cwd: string;
beforeEach(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-hash-'));
});
afterEach(() => fs.rmSync(cwd, { recursive: true, force: true }));

describe('hashDirectory', () => {
  const make = (files: Record<string, string>) => {
    const dir = fs.mkdtempSync(path.join(cwd, 'd-'));
    for (const [rel, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), text);
    }
    return dir;
  };

  it('depends on names and contents only, not on times or creation order', () => {
    const a = make({ 'config.json': '{}', 'sub/w.bin': 'abc' });
    const b = make({ 'sub/w.bin': 'abc', 'config.json': '{}' });
    fs.utimesSync(path.join(b, 'config.json'), 1, 1);
    expect(hashDirectory(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashDirectory(a)).toBe(hashDirectory(b));
  });

  it('changes with a byte, a name, or a moved file', () => {
    const base = hashDirectory(make({ 'a.txt': 'abc', 'b.txt': 'x' }));
    expect(hashDirectory(make({ 'a.txt': 'abd', 'b.txt': 'x' }))).not.toBe(base);
    expect(hashDirectory(make({ 'c.txt': 'abc', 'b.txt': 'x' }))).not.toBe(base);
    expect(hashDirectory(make({ 'sub/a.txt': 'abc', 'b.txt': 'x' }))).not.toBe(base);
    // Content that shifts between files does not collide: sizes are hashed too.
    expect(hashDirectory(make({ 'a.txt': 'ab', 'b.txt': 'cx' }))).not.toBe(hashDirectory(make({ 'a.txt': 'abc', 'b.txt': 'x' })));
  });

  it('reads files bigger than its chunk', () => {
    const big = Buffer.alloc((1 << 20) * 2 + 5, 7);
    const a = make({});
    fs.writeFileSync(path.join(a, 'w.bin'), big);
    const b = make({});
    big[big.length - 1] = 8;
    fs.writeFileSync(path.join(b, 'w.bin'), big);
    expect(hashDirectory(a)).not.toBe(hashDirectory(b));
  });

  it('counts empty directories', () => {
    const a = make({ 'x.txt': '1' });
    const b = make({ 'x.txt': '1' });
    fs.mkdirSync(path.join(b, 'empty'));
    expect(hashDirectory(a)).not.toBe(hashDirectory(b));
  });
});

describe('hashDirectory of a model directory: what the model is, not where or when it was written', () => {
  /** smolbox.json as a step writes it, made in `dir`'s uuid, from `parent`. */
  const provenance = (out: string, parent: string, over: Record<string, unknown> = {}) => ({
    parent,
    tool: 'train/finetuner',
    args: { model_path: parent, output_model_path: out, seed: 7, dataset_path: 'builtin:tiny_shakespeare' },
    metrics: { loss: 1.5, tokens_per_s: 4000 },
    training: { loss: [2, 1.5], eval: [] },
    created_at: '2026-12-01T10:00:00.000Z',
    smolbox_format: 1,
    ancestors: [{ parent: 'builtin:shakespeare-char', tool: 'transform/reinitializer', args: { output_model_path: parent, seed: 3 }, created_at: '2026-12-01T09:00:00.000Z' }],
    ...over,
  });
  const modelDir = (root: string, prov: Record<string, unknown>, config: Record<string, unknown> = { model_type: 'gpt2', n_layer: 2 }) => {
    const dir = path.join(cwd, root);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
    fs.writeFileSync(path.join(dir, 'model.safetensors'), 'weights');
    fs.writeFileSync(path.join(dir, 'smolbox.json'), JSON.stringify(prov, null, 2));
    return dir;
  };
  const A = '.smolbox/11111111-2222-4333-8444-555555555555';
  const B = '.smolbox/aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
  const A2 = '.smolbox/66666666-7777-4888-9999-000000000000';
  const B2 = '.smolbox/ffffffff-bbbb-4ccc-8ddd-eeeeeeeeeeee';

  it('is the same for a replay: other uuids, times, tokens/s, directory and key order', () => {
    const original = hashDirectory(modelDir(`one/${B}`, provenance(B, A)));
    const replay = provenance(B2, path.join(cwd, 'two', A2), { created_at: '2027-01-01T00:00:00.000Z', metrics: { loss: 1.5, tokens_per_s: 3100 } });
    const reordered = Object.fromEntries(Object.entries(replay).reverse());
    expect(hashDirectory(modelDir(`two/${B2}`, reordered, { n_layer: 2, model_type: 'gpt2', transformers_version: '4.57.0' }))).toBe(original);
  });

  it('changes with the weights, the config, the tokenizer or how the model was made', () => {
    const base = () => provenance(B, A);
    const original = hashDirectory(modelDir('base', base()));
    const weights = modelDir('weights', base());
    fs.writeFileSync(path.join(weights, 'model.safetensors'), 'weightz');
    expect(hashDirectory(weights)).not.toBe(original);
    expect(hashDirectory(modelDir('config', base(), { model_type: 'gpt2', n_layer: 3 }))).not.toBe(original);
    const tokenizer = modelDir('tokenizer', base());
    fs.writeFileSync(path.join(tokenizer, 'tokenizer.json'), '{}');
    expect(hashDirectory(tokenizer)).not.toBe(original);
    expect(hashDirectory(modelDir('seed', provenance(B, A, { args: { model_path: A, output_model_path: B, seed: 8, dataset_path: 'builtin:tiny_shakespeare' } })))).not.toBe(original);
    expect(hashDirectory(modelDir('data', provenance(B, A, { args: { model_path: A, output_model_path: B, seed: 7, dataset_path: 'other.txt' } })))).not.toBe(original);
    expect(hashDirectory(modelDir('origin', provenance(B, A, { ancestors: [] })))).not.toBe(original);
  });

  it('hashes a smolbox.json or config.json that is not JSON by its bytes', () => {
    const a = modelDir('a', provenance(B, A));
    const b = modelDir('b', provenance(B, A));
    fs.writeFileSync(path.join(a, 'smolbox.json'), '{not json');
    fs.writeFileSync(path.join(b, 'smolbox.json'), '{not json!');
    expect(hashDirectory(a)).not.toBe(hashDirectory(b));
  });
});
