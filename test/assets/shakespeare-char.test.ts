/**
 * The shipped model, builtin:shakespeare-char: small enough to commit, a GPT-2 with a
 * character tokenizer, made by the recipe's steps, and as good as promised on the held-out
 * text of builtin:tiny_shakespeare (validation loss ≤ 1.7 nats per character).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { readCheckpointInfo, type Provenance } from '../../src/models/checkpoint.js';
import { loadTokenizer } from '../../src/models/tokenizer.js';
import { run, tokensOf } from '../tools/fixtures.js';

const dir = new URL('../../assets/models/shakespeare-char/', import.meta.url).pathname;
const engine = new Engine({ threads: 2 });
let cwd: string;
beforeAll(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-builtin-'));
});
afterAll(() => {
  engine.release();
  fs.rmSync(cwd, { recursive: true, force: true });
});

describe('builtin:shakespeare-char', () => {
  it('is a GPT-2 directory of at most 5 MB whose provenance tells how it was trained', () => {
    const bytes = fs.readdirSync(dir).reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
    expect(bytes).toBeLessThanOrEqual(5 * 1024 * 1024);
    const info = readCheckpointInfo(dir);
    expect(info.config.model_type).toBe('gpt2');
    expect(info.config.vocab_size).toBe(65);
    const steps = [...(info.provenance?.ancestors ?? []), info.provenance as Provenance].map((p) => p.tool);
    expect(steps.slice(-2)).toEqual(['train/finetuner', 'transform/quantizer']);
    const training = info.provenance?.ancestors?.at(-1)?.training as { loss: unknown[]; eval: unknown[] };
    expect(training.loss.length).toBeGreaterThan(100);
  });

  it('has a character tokenizer that round-trips the dataset\'s text', () => {
    const tokenizer = loadTokenizer(dir);
    const text = fs.readFileSync(new URL('../../assets/datasets/tiny_shakespeare/validation.txt', import.meta.url), 'utf8').slice(0, 2000);
    const ids = tokenizer.encode(text);
    expect(ids).toHaveLength(text.length);
    expect(tokenizer.decode(ids)).toBe(text);
  });

  it('scores at most 1.7 nats per character on the validation split', async () => {
    await run(cwd, engine, ['io/importer', '--model_path', 'builtin:shakespeare-char']);
    const r = await run(cwd, engine, ['eval/perplexity', '--dataset_path', 'builtin:tiny_shakespeare'], true);
    expect(r.result?.data).toMatchObject({ split: 'validation' });
    expect(r.result!.metrics!.tokens).toBeGreaterThan(50_000);
    expect(r.result!.metrics!.nll).toBeLessThanOrEqual(1.7);
  }, 120_000);

  it('writes Shakespeare-shaped text: speaker lines of known characters and words', async () => {
    await run(cwd, engine, ['io/importer', '--model_path', 'builtin:shakespeare-char']);
    const r = await run(cwd, engine, ['infer/sampler', '--prompt', 'ROMEO:', '--max_new_tokens', '300', '--seed', '1', '--temperature', '0.8']);
    const text = `ROMEO:${tokensOf(r.events)}`;
    // Play text: several lines, a later speaker's name in capitals followed by a colon.
    expect(text.split('\n').length).toBeGreaterThan(3);
    expect(text.slice(6)).toMatch(/^[A-Z][A-Z ]+:$/m);
    // Mostly real words: the commonest English words turn up.
    const words = text.toLowerCase().split(/[^a-z']+/);
    const common = ['the', 'and', 'i', 'to', 'of', 'my', 'you', 'a', 'that', 'is', 'in', 'not', 'me', 'with', 'be', 'your', 'thou', 'his'];
    expect(words.filter((w) => common.includes(w)).length).toBeGreaterThan(10);
  }, 60_000);
});
