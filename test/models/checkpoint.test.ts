import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  derivedProvenance,
  readCheckpoint,
  readCheckpointInfo,
  writeCheckpoint,
  type Provenance,
} from '../../src/models/checkpoint.js';
import { sanitizeGpt2 } from '../../src/models/gpt2.js';
import { readSafetensors, writeSafetensors } from '../../src/models/safetensors.js';
import type { Weights } from '../../src/models/tensor.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-ckpt-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function llamaWeights(): Weights {
  return new Map([
    ['model.embed_tokens.weight', { shape: [4, 2], data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]) }],
    ['model.norm.weight', { shape: [2], data: new Float32Array([1, 1]) }],
  ]);
}

function makeModelDir(at: string, extra: Record<string, string> = {}): void {
  fs.mkdirSync(at, { recursive: true });
  fs.writeFileSync(path.join(at, 'config.json'), JSON.stringify({ model_type: 'llama', hidden_size: 2 }));
  writeSafetensors(path.join(at, 'model.safetensors'), llamaWeights());
  for (const [name, text] of Object.entries(extra)) fs.writeFileSync(path.join(at, name), text);
}

describe('readCheckpoint', () => {
  it('reads config, weights, generation config, provenance and tokenizer files', () => {
    const src = path.join(dir, 'src');
    makeModelDir(src, {
      'generation_config.json': '{"eos_token_id": 2}',
      'tokenizer.json': '{}',
      'tokenizer_config.json': '{}',
      'merges.txt': '',
      'smolbox.json': '{"parent": null, "tool": "t", "args": {}, "created_at": "x"}',
      'README.md': 'not a tokenizer file',
    });
    const ck = readCheckpoint(src);
    expect(ck.dir).toBe(src);
    expect(ck.config.model_type).toBe('llama');
    expect([...ck.weights.keys()].sort()).toEqual(['model.embed_tokens.weight', 'model.norm.weight']);
    expect(ck.generationConfig).toEqual({ eos_token_id: 2 });
    expect(ck.provenance?.tool).toBe('t');
    expect(ck.tokenizerFiles).toEqual(['tokenizer.json', 'tokenizer_config.json', 'merges.txt']);
    expect(ck.raw).toBeUndefined();
  });

  it('reads sharded weights and drops rotary inv_freq buffers', () => {
    const src = path.join(dir, 'sharded');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'config.json'), '{"model_type": "llama"}');
    writeSafetensors(path.join(src, 'model-00001-of-00002.safetensors'), new Map([
      ['model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [1], data: new Float32Array(1) }],
      ['a', { shape: [1], data: new Float32Array([1]) }],
    ]));
    writeSafetensors(path.join(src, 'model-00002-of-00002.safetensors'), new Map([['b', { shape: [1], data: new Float32Array([2]) }]]));
    fs.writeFileSync(path.join(src, 'model.safetensors.index.json'), JSON.stringify({ weight_map: {
      'model.layers.0.self_attn.rotary_emb.inv_freq': 'model-00001-of-00002.safetensors',
      a: 'model-00001-of-00002.safetensors',
      b: 'model-00002-of-00002.safetensors',
    } }));
    expect([...readCheckpoint(src).weights.keys()]).toEqual(['a', 'b']);
  });

  it('normalises hub GPT-2 names and drops the attention mask buffers', () => {
    const t = { shape: [1], data: new Float32Array(1) };
    const w: Weights = new Map([
      ['wte.weight', t], ['h.0.attn.c_attn.weight', t], ['h.0.attn.bias', t], ['h.0.attn.masked_bias', t],
      ['transformer.ln_f.weight', t], ['lm_head.weight', t],
    ]);
    expect([...sanitizeGpt2(w).keys()]).toEqual([
      'transformer.wte.weight', 'transformer.h.0.attn.c_attn.weight', 'transformer.ln_f.weight', 'lm_head.weight',
    ]);
    const src = path.join(dir, 'gpt2');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'config.json'), '{"model_type": "gpt2"}');
    writeSafetensors(path.join(src, 'model.safetensors'), w);
    expect(readCheckpoint(src).weights.has('transformer.h.0.attn.c_attn.weight')).toBe(true);
    expect(readCheckpoint(src).weights.has('transformer.h.0.attn.bias')).toBe(false);
  });

  it('gives one-line errors for missing dirs, missing/invalid config, missing or .bin weights', () => {
    expect(() => readCheckpoint(path.join(dir, 'nope'))).toThrow(/^no such model directory: .*nope$/);
    const d = path.join(dir, 'd');
    fs.mkdirSync(d);
    expect(() => readCheckpoint(d)).toThrow(/has no config.json: not a Hugging Face model directory/);
    fs.writeFileSync(path.join(d, 'config.json'), '{"model_type": ');
    expect(() => readCheckpoint(d)).toThrow(/config.json is not valid JSON/);
    fs.writeFileSync(path.join(d, 'config.json'), '{"model_type": "gpt2"}');
    expect(() => readCheckpoint(d)).toThrow(/has no model.safetensors/);
    fs.writeFileSync(path.join(d, 'pytorch_model.bin'), 'x');
    expect(() => readCheckpoint(d)).toThrow(/holds only pytorch_model.bin.*safe_serialization=True/);
    expect(() => readCheckpoint(d)).not.toThrow(/\n/);
  });

  it('reads the info of a directory without weights (config + tokenizer only)', () => {
    const d = path.join(dir, 'cfg');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'config.json'), '{"model_type": "gpt2"}');
    fs.writeFileSync(path.join(d, 'vocab.json'), '{}');
    expect(readCheckpointInfo(d).tokenizerFiles).toEqual(['vocab.json']);
  });
});

describe('writeCheckpoint', () => {
  const provenance: Provenance = {
    parent: 'gpt2', tool: 'transform/pruner', args: { pruning_percentage: 0.2 }, metrics: { sparsity: 0.2 },
    created_at: '2025-01-01T00:00:00.000Z',
  };

  it('writes a directory that reads back identically, copying tokenizer files', () => {
    const src = path.join(dir, 'src');
    makeModelDir(src, { 'tokenizer.json': '{"model": 1}', 'special_tokens_map.json': '{}' });
    const ck = readCheckpoint(src);
    const out = path.join(dir, 'out', 'model');
    writeCheckpoint(out, { ...ck, generationConfig: { eos_token_id: 3 }, provenance });
    expect(fs.readdirSync(out).sort()).toEqual([
      'config.json', 'generation_config.json', 'model.safetensors', 'smolbox.json', 'special_tokens_map.json', 'tokenizer.json',
    ]);
    const back = readCheckpoint(out);
    expect(back.config).toEqual({ model_type: 'llama', hidden_size: 2, torch_dtype: 'float32' });
    expect(back.weights.get('model.embed_tokens.weight')).toEqual(ck.weights.get('model.embed_tokens.weight'));
    expect(back.provenance).toEqual(provenance);
    expect(back.generationConfig).toEqual({ eos_token_id: 3 });
    expect(fs.readFileSync(path.join(out, 'tokenizer.json'), 'utf8')).toBe('{"model": 1}');
    // transformers' layout: sorted keys, 2-space indent, trailing newline.
    expect(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).toBe(
      '{\n  "hidden_size": 2,\n  "model_type": "llama",\n  "torch_dtype": "float32"\n}\n',
    );
    expect(fs.readdirSync(path.join(dir, 'out'))).toEqual(['model']);
  });

  it('writes fp16 storage and records it in the config', () => {
    const out = path.join(dir, 'h');
    writeCheckpoint(out, { config: { model_type: 'llama', torch_dtype: 'bfloat16' }, weights: llamaWeights() }, { dtype: 'F16' });
    expect(readCheckpoint(out).config.torch_dtype).toBe('float16');
    const bytes = fs.readFileSync(path.join(out, 'model.safetensors'));
    expect(bytes.toString('latin1', 8, 200)).toContain('"dtype":"F16"');
    expect([...readSafetensors(path.join(out, 'model.safetensors')).weights.get('model.embed_tokens.weight')!.data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('replaces a directory it wrote (marker in smolbox.json) and an empty one; keeps the marker out of the provenance', () => {
    const out = path.join(dir, 'o');
    writeCheckpoint(out, { config: { model_type: 'llama' }, weights: llamaWeights() });
    expect(JSON.parse(fs.readFileSync(path.join(out, 'smolbox.json'), 'utf8'))).toEqual({ smolbox_format: 1 });
    expect(readCheckpointInfo(out).provenance).toBeUndefined();
    fs.mkdirSync(path.join(out, 'training_state'));
    fs.writeFileSync(path.join(out, 'training_state', 'trainer_state.json'), '{}');
    const prov: Provenance = { parent: null, tool: 't', args: {}, created_at: 'x' };
    writeCheckpoint(out, { config: { model_type: 'llama', hidden_size: 3 }, weights: llamaWeights(), provenance: prov });
    expect(readCheckpoint(out).config.hidden_size).toBe(3);
    expect(readCheckpointInfo(out).provenance).toEqual(prov);
    expect(fs.existsSync(path.join(out, 'training_state'))).toBe(false);
    const empty = path.join(dir, 'empty');
    fs.mkdirSync(empty);
    writeCheckpoint(empty, { config: { model_type: 'llama' }, weights: llamaWeights() });
    expect(fs.existsSync(path.join(empty, 'model.safetensors'))).toBe(true);
  });

  it.each([
    ['other files and no model', { 'notes.txt': 'mine' }, /refusing to replace .*other: smolbox did not write it/],
    ['a config.json smolbox did not write', { 'notes.txt': 'mine' }, /smolbox did not write it/, true],
    ['a smolbox model plus a file of the user', { 'smolbox.json': '{"smolbox_format": 1}', 'notes.txt': 'mine' }, /it holds notes\.txt, which is not part of a model directory/, true],
    ['a smolbox model plus a .smolbox/ (the cwd)', { 'smolbox.json': '{"smolbox_format": 1}', '.smolbox/state.json': '{}' }, /it holds \.smolbox\/, which/, true],
    ['a smolbox model plus a file in training_state/', { 'smolbox.json': '{"smolbox_format": 1}', 'training_state/mine.txt': 'x' }, /it holds training_state\/mine\.txt/, true],
  ])('refuses a directory holding %s, in one line, and leaves it as it was', (_what, files: Record<string, string>, message, model = false) => {
    const other = path.join(dir, 'other');
    if (model) makeModelDir(other);
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(other, name)), { recursive: true });
      fs.writeFileSync(path.join(other, name), text);
    }
    const listing = () => fs.readdirSync(other, { recursive: true }).map(String).sort();
    const before = listing();
    let err: Error | undefined;
    try {
      writeCheckpoint(other, { config: { model_type: 'llama' }, weights: llamaWeights() }, { flag: '--output_model_path' });
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toMatch(message);
    expect(err?.message).toMatch(/pass another --output_model_path/);
    expect(err?.message).not.toContain('\n');
    expect(listing()).toEqual(before);
    expect(fs.readdirSync(dir)).toEqual(['other']);
  });

  it('leaves nothing behind when writing fails midway', () => {
    const out = path.join(dir, 'fail');
    makeModelDir(out, { 'smolbox.json': '{"smolbox_format": 1}' });
    const before = fs.readFileSync(path.join(out, 'model.safetensors'));
    const bad: Weights = new Map([['x', { shape: [3], data: new Float32Array(2) }]]);
    expect(() => writeCheckpoint(out, { config: { model_type: 'llama' }, weights: bad })).toThrow(/2 elements/);
    expect(fs.readFileSync(path.join(out, 'model.safetensors')).equals(before)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['fail']);
  });
});

describe('derivedProvenance', () => {
  it('moves the parent step into ancestors, oldest first, so an exported model keeps its lineage', () => {
    const made = derivedProvenance(undefined, { parent: 'cfg', tool: 'transform/reinitializer', args: { seed: 1 } });
    expect(made.ancestors).toBeUndefined();
    const trained = derivedProvenance(made, { parent: 'a', tool: 'train/finetuner', args: {}, training: { loss: [[1, 2]] } });
    const quantized = derivedProvenance(trained, { parent: 'b', tool: 'transform/quantizer', args: { precision: 16 } });
    expect(quantized.tool).toBe('transform/quantizer');
    expect(quantized.ancestors?.map((a) => a.tool)).toEqual(['transform/reinitializer', 'train/finetuner']);
    // Each ancestor is flat: no nested chains, and the training curve survives.
    expect(quantized.ancestors?.every((a) => a.ancestors === undefined)).toBe(true);
    expect(quantized.ancestors?.[1].training).toEqual({ loss: [[1, 2]] });
    expect(Date.parse(quantized.created_at)).not.toBeNaN();
  });
});
