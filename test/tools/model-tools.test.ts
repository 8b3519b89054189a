import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { hashDirectory } from '../../src/core/content-hash.js';
import { readHistory } from '../../src/core/history.js';
import { runTool } from '../../src/engine/run-tool.js';
import { readState } from '../../src/core/state.js';
import { Engine } from '../../src/engine/engine.js';
import { readCheckpoint } from '../../src/models/checkpoint.js';
import { resolveArchitecture } from '../../src/models/index.js';
import { gpt2Reference, type Gpt2Config } from '../../src/models/gpt2.js';
import { loadTokenizer } from '../../src/models/tokenizer.js';
import { argmax } from '../../src/runtime/sampling.js';
import { run, tokensOf, writeConfigDir, writeTinyModel } from './fixtures.js';

const engine = new Engine({ threads: 1 });
let cwd: string;
let model: string;
beforeEach(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-tools-'));
  model = path.join(cwd, 'tiny');
  writeTinyModel(model);
});
afterAll(() => engine.release());

describe('io/importer', () => {
  it('loads a local model and makes it the state\'s model_path', async () => {
    const r = await run(cwd, engine, ['io/importer', '--model-path', 'tiny']);
    expect(r.ok, r.error).toBe(true);
    expect(r.result?.message).toMatch(/gpt2, .* parameters, 2 layers × 32 wide/);
    expect(readState(cwd)?.model_path).toBe('tiny');
  });

  it('names the culprit for a missing directory, an unknown builtin and an unsupported model_type', async () => {
    expect((await run(cwd, engine, ['io/importer', '--model-path', './nope'])).error).toBe('no such directory: ./nope');
    expect((await run(cwd, engine, ['io/importer', '--model-path', 'builtin:nope'])).error).toMatch(/^no builtin model "nope"; available: /);
    const cfg = JSON.parse(fs.readFileSync(path.join(model, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(model, 'config.json'), JSON.stringify({ ...cfg, model_type: 'bert' }));
    const r = await run(cwd, engine, ['io/importer', '--model-path', 'tiny']);
    expect(r.error).toMatch(/bert/);
    expect(r.error).toMatch(/gpt2/);
    expect(readState(cwd)?.model_path ?? null).toBe(null);
  });

  it('refuses a config that disagrees with the tensors and a truncated safetensors file', async () => {
    const cfg = JSON.parse(fs.readFileSync(path.join(model, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(model, 'config.json'), JSON.stringify({ ...cfg, n_embd: 64 }));
    expect((await run(cwd, engine, ['io/importer', '--model-path', 'tiny'])).error).toMatch(/has shape \[.*\] but config.json implies/);
    fs.writeFileSync(path.join(model, 'config.json'), JSON.stringify(cfg));
    const st = path.join(model, 'model.safetensors');
    fs.truncateSync(st, fs.statSync(st).size - 100);
    const r = await run(cwd, engine, ['io/importer', '--model-path', 'tiny']);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/model\.safetensors/);
    expect(r.error!.split('\n')).toHaveLength(1);
  });
});

describe('infer/sampler', () => {
  it('greedy decoding follows the reference forward token by token', async () => {
    const r = await run(cwd, engine, ['infer/sampler', '--model-path', 'tiny', '--prompt', 'the cat', '--no-do-sample', '--max-new-tokens', '8'], true);
    expect(r.ok, r.error).toBe(true);
    const data = r.result!.data as { prompt_ids: number[]; generated_ids: number[]; text: string; tokens_per_s: number };
    expect(Object.keys(data)).toEqual(expect.arrayContaining(['prompt_ids', 'generated_ids', 'text', 'tokens_per_s']));
    expect(data.generated_ids).toHaveLength(8);
    const ckpt = readCheckpoint(model);
    const { cfg } = resolveArchitecture(ckpt.config);
    const ids = [...data.prompt_ids];
    for (let i = 0; i < 8; i++) {
      const logits = gpt2Reference(cfg as Gpt2Config, ckpt.weights, ids);
      ids.push(argmax(logits.subarray((ids.length - 1) * cfg.vocabSize)));
    }
    expect(data.generated_ids).toEqual(ids.slice(data.prompt_ids.length));
    expect(data.text).toBe(loadTokenizer(model).decode(data.generated_ids));
    expect(r.events.some((e) => e.type === 'token')).toBe(false); // --json: one result, no token lines
  });

  it('streams the prompt and the tokens; the same seed gives the same text, another seed another', async () => {
    const a = await run(cwd, engine, ['infer/sampler', '--model-path', 'tiny', '--prompt', 'to be', '--seed', '5', '--temperature', '1.5']);
    const b = await run(cwd, engine, ['infer/sampler', '--model-path', 'tiny', '--prompt', 'to be', '--seed', '5', '--temperature', '1.5']);
    const c = await run(cwd, engine, ['infer/sampler', '--model-path', 'tiny', '--prompt', 'to be', '--seed', '6', '--temperature', '1.5']);
    const text = (r: typeof a) => (r.result!.data as { text: string }).text;
    expect(tokensOf(a.events)).toBe('to be' + text(a));
    expect(text(a)).toBe(text(b));
    expect(text(a)).not.toBe(text(c));
    expect(a.result!.metrics!.tokens_per_s).toBeGreaterThan(0);
  });

  it('stops at the model\'s last position', async () => {
    const r = await run(cwd, engine, ['infer/sampler', '--model-path', 'tiny', '--prompt', 'abc', '--max-new-tokens', '500']);
    expect(r.ok, r.error).toBe(true);
    expect((r.result!.data as { generated_ids: number[]; stop_reason: string }).generated_ids).toHaveLength(64 - 3 + 1);
  });

  it('takes sampling defaults from the user config, never over a given flag', async () => {
    const line = ['--model-path', 'tiny', '--max-new-tokens', '2', '--top-k', '7'];
    const r = await runTool('infer/sampler', line, { cwd, engine, sink: () => {}, config: { temperature: 1.25, top_k: 3, threads: 1 } });
    expect(r.ok, r.error).toBe(true);
    expect(readHistory(cwd).at(-1)!.args).toMatchObject({ temperature: 1.25, top_k: 7, top_p: 0.95 });
  });

  it('refuses an empty prompt, top_p outside (0, 1] and a character the tokenizer lacks', async () => {
    expect((await run(cwd, engine, ['infer/sampler', '--model-path', 'tiny', '--prompt', ''])).error).toMatch(/--prompt is empty/);
    const p = await run(cwd, engine, ['infer/sampler', '--model-path', 'tiny', '--top-p', '0']);
    expect(p.failure).toBe('usage');
    expect(p.error).toMatch(/--top_p/);
    expect((await run(cwd, engine, ['infer/sampler', '--model-path', 'tiny', '--prompt', 'a€'])).error).toMatch(/no token for "€"/);
  });
});

describe('infer/tweaker', () => {
  it('lists parameter names, shapes and counts', async () => {
    const r = await run(cwd, engine, ['infer/tweaker', 'list', '--model-path', 'tiny']);
    expect(r.ok, r.error).toBe(true);
    expect(r.result!.message).toMatch(/^transformer\.wte\.weight\s+\[62, 32\]\s+1984$/m);
    expect(r.result!.message).toMatch(/tensors, .* parameters$/);
  });

  it('changes the output for one run and never the model', async () => {
    const before = hashDirectory(model);
    const line = ['infer/tweaker', '--model-path', 'tiny', '--prompt', 'hello', '--seed', '1', '--max-length', '20'];
    const plain = await run(cwd, engine, line);
    const tweaked = await run(cwd, engine, [...line, '--deltas', 'transformer\\.h\\.0\\..*=0.5,transformer.wte.weight=-0.2']);
    const again = await run(cwd, engine, line);
    const text = (r: typeof plain) => (r.result!.data as { text: string }).text;
    expect(tweaked.ok, tweaked.error).toBe(true);
    expect(tweaked.result!.metrics!.tensors_changed).toBe(13);
    expect(text(tweaked)).not.toBe(text(plain));
    expect(text(again)).toBe(text(plain));
    expect(hashDirectory(model)).toBe(before);
  });

  it('names a delta that matches nothing or is not a number', async () => {
    expect((await run(cwd, engine, ['infer/tweaker', '--model-path', 'tiny', '--deltas', 'nothing.here=1'])).error).toMatch(/no parameter matches "nothing.here"/);
    expect((await run(cwd, engine, ['infer/tweaker', '--model-path', 'tiny', '--deltas', 'transformer.wte.weight=x'])).error).toMatch(/not a number/);
  });
});

describe('transform/reinitializer', () => {
  it('makes a fresh model from a config-only directory; the seed decides the weights', async () => {
    writeConfigDir(path.join(cwd, 'cfg'));
    const a = await run(cwd, engine, ['transform/reinitializer', '--model-path', 'cfg', '--num-layers', '3', '--seed', '1', '--output-model-path', 'a']);
    const b = await run(cwd, engine, ['transform/reinitializer', '--model-path', 'cfg', '--num-layers', '3', '--seed', '1', '--output-model-path', 'b']);
    expect(a.ok, a.error).toBe(true);
    const ckpt = readCheckpoint(path.join(cwd, 'a'));
    expect(ckpt.config.n_layer).toBe(3);
    expect(ckpt.tokenizerFiles).toContain('tokenizer.json');
    expect(ckpt.provenance?.tool).toBe('transform/reinitializer');
    // GPT-2's scheme: N(0, 0.02) weights, zero biases, unit LayerNorm scales.
    const w = ckpt.weights.get('transformer.h.0.mlp.c_fc.weight')!.data;
    const std = Math.sqrt(w.reduce((s, x) => s + x * x, 0) / w.length);
    expect(std).toBeGreaterThan(0.018);
    expect(std).toBeLessThan(0.022);
    expect(ckpt.weights.get('transformer.h.2.ln_1.weight')!.data.every((x) => x === 1)).toBe(true);
    const weightsOf = (d: string) => fs.readFileSync(path.join(cwd, d, 'model.safetensors'));
    expect(weightsOf('a').equals(weightsOf('b'))).toBe(true);
    expect(readState(cwd)?.model_path).toBe('b');
    const sample = await run(cwd, engine, ['infer/sampler', '--max-new-tokens', '3']);
    expect(sample.ok, sample.error).toBe(true);
  });

  it('switches architecture: a llama with grouped-query attention from the gpt2', async () => {
    const r = await run(cwd, engine, ['transform/reinitializer', '--model-path', 'tiny', '--model-type', 'llama', '--num-heads', '4', '--num-kv-heads', '2', '--intermediate-size', '48']);
    expect(r.ok, r.error).toBe(true);
    const out = readState(cwd)!.model_path!;
    const ckpt = readCheckpoint(path.join(cwd, out));
    expect(ckpt.config).toMatchObject({ model_type: 'llama', hidden_size: 32, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 2, intermediate_size: 48, vocab_size: 62 });
    expect(ckpt.weights.get('model.layers.0.self_attn.k_proj.weight')!.shape).toEqual([16, 32]);
    expect((await run(cwd, engine, ['infer/sampler', '--max-new-tokens', '3'])).ok).toBe(true);
  });

  it('refuses sizes that cannot work, naming the flag, and changes nothing', async () => {
    await run(cwd, engine, ['io/importer', '--model-path', 'tiny']);
    const entries = fs.readdirSync(path.join(cwd, '.smolbox')).sort();
    expect((await run(cwd, engine, ['transform/reinitializer', '--hidden-size', '30'])).error).toMatch(/--hidden_size 30 is not divisible by --num_heads 4/);
    expect((await run(cwd, engine, ['transform/reinitializer', '--num-kv-heads', '2'])).error).toMatch(/--num_kv_heads: gpt2 has no grouped-query attention/);
    expect(fs.readdirSync(path.join(cwd, '.smolbox')).sort()).toEqual(entries);
    expect(readState(cwd)?.model_path).toBe('tiny');
  });
});

describe('eval/perplexity', () => {
  it('matches the reference forward\'s mean NLL over the validation text', async () => {
    const text = 'the quick brown fox jumps over the lazy dog. '.repeat(4);
    fs.writeFileSync(path.join(cwd, 'val.txt'), text);
    const r = await run(cwd, engine, ['eval/perplexity', '--model-path', 'tiny', '--dataset-path', 'val.txt', '--max-tokens', '150'], true);
    expect(r.ok, r.error).toBe(true);
    const ckpt = readCheckpoint(model);
    const { cfg } = resolveArchitecture(ckpt.config);
    const ids = loadTokenizer(model).encode(text);
    let sum = 0;
    // Windows of 64 inputs (the model's positions), each scoring its next tokens.
    for (let start = 0; start < 150; start += 64) {
      const n = Math.min(64, 150 - start);
      const logits = gpt2Reference(cfg as Gpt2Config, ckpt.weights, ids.slice(start, start + n));
      for (let i = 0; i < n; i++) {
        const row = logits.subarray(i * cfg.vocabSize, (i + 1) * cfg.vocabSize);
        const max = Math.max(...row);
        const lse = Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0)) + max;
        sum += lse - row[ids[start + i + 1]];
      }
    }
    expect(r.result!.metrics!.tokens).toBe(150);
    expect(r.result!.metrics!.nll).toBeCloseTo(sum / 150, 4);
    expect(r.result!.metrics!.perplexity).toBeCloseTo(Math.exp(sum / 150), 2);
  });

  it('names an empty dataset', async () => {
    fs.writeFileSync(path.join(cwd, 'empty.txt'), '');
    const r = await run(cwd, engine, ['eval/perplexity', '--model-path', 'tiny', '--dataset-path', 'empty.txt']);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/empty\.txt/);
  });
});

describe('the engine keeps models in memory', () => {
  it('reuses a loaded model until its files change on disk', async () => {
    const e = new Engine({ threads: 1 });
    const a = await e.model('tiny', { cwd });
    expect(await e.model(model, { cwd })).toBe(a);
    expect(e.summary()).toMatchObject({ modelType: 'gpt2', path: model, dtype: 'float32' });
    const cfgFile = path.join(model, 'config.json');
    fs.writeFileSync(cfgFile, fs.readFileSync(cfgFile, 'utf8') + '\n');
    fs.utimesSync(cfgFile, new Date(), new Date(Date.now() + 5000));
    expect(await e.model('tiny', { cwd })).not.toBe(a);
    await e.release();
  });
});
