import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { resolveArchitecture } from '../../src/models/index.js';
import { ALIGNMENT, GGML_TYPE, readGguf, writeGguf } from '../../src/export/gguf-format.js';
import { exportGguf, ggufTensorName } from '../../src/export/gguf.js';
import { ropeRowOrder } from '../../src/models/llama-gguf.js';
import { quantizeMatrix, toGgufBlocks } from '../../src/transforms/blocks.js';
import { quantizeWeights } from '../../src/transforms/quantize.js';
import { selectParameters } from '../../src/transforms/select.js';
import { TINY_LLAMA } from '../transforms/fixtures.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-gguf-'));

describe('GGUF container', () => {
  it('round-trips metadata of every type and aligns each tensor', () => {
    const file = path.join(tmp(), 'x.gguf');
    writeGguf(file, new Map([
      ['a.u32', { type: 'u32', value: 7 }],
      ['a.f32', { type: 'f32', value: 0.5 }],
      ['a.bool', { type: 'bool', value: true }],
      ['a.str', { type: 'string', value: 'héllo' }],
      ['a.strs', { type: 'string[]', value: ['x', 'ÿ z'] }],
      ['a.ints', { type: 'i32[]', value: [-1, 2] }],
    ]), [
      { name: 'v', shape: [3], type: 'F32', data: new Uint8Array(Float32Array.of(1, 2, 3).buffer) },
      { name: 'm', shape: [2, 5], type: 'F16', data: new Uint8Array(20) },
    ]);
    const buf = fs.readFileSync(file);
    const g = readGguf(buf);
    expect(buf.readUInt32LE(0)).toBe(0x46554747);
    expect(buf.subarray(0, 4).toString()).toBe('GGUF');
    expect(Object.fromEntries(g.metadata)).toEqual({
      'a.u32': 7, 'a.f32': 0.5, 'a.bool': true, 'a.str': 'héllo', 'a.strs': ['x', 'ÿ z'], 'a.ints': [-1, 2], 'general.alignment': ALIGNMENT,
    });
    expect(g.tensors).toEqual([
      { name: 'v', dims: [3], type: GGML_TYPE.F32, offset: 0 },
      { name: 'm', dims: [5, 2], type: GGML_TYPE.F16, offset: 32 },
    ]);
    expect(g.dataStart % ALIGNMENT).toBe(0);
    expect(buf.readFloatLE(g.dataStart + 8)).toBe(3);
    expect(buf.byteLength).toBe(g.dataStart + 64);
  });
});

describe('ropeRowOrder', () => {
  it('interleaves each head\'s halves: new row 2j+s is old row s·D/2 + j', () => {
    expect(Array.from(ropeRowOrder(2, 4))).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
  });
});

describe('exportGguf (llama)', () => {
  const raw = { ...TINY_LLAMA, vocab_size: 40 };
  const { arch, cfg } = resolveArchitecture(raw);
  const weights = arch.init(cfg, new Random(1));
  const params = arch.parameters(cfg);

  it('names the tensors as llama.cpp does and permutes q/k rows', () => {
    const file = path.join(tmp(), 'l.gguf');
    exportGguf(file, { dir: tmp(), arch, cfg, weights, quantized: new Map(), half: false, name: 'tiny' }, params);
    const buf = fs.readFileSync(file);
    const g = readGguf(buf);
    expect(g.metadata.get('general.architecture')).toBe('llama');
    expect(g.metadata.get('llama.attention.head_count_kv')).toBe(2);
    expect(g.metadata.get('llama.rope.dimension_count')).toBe(8);
    expect(g.metadata.get('general.file_type')).toBe(0);
    expect(g.tensors.map((t) => t.name)).toEqual(params.map((p) => ggufTensorName(arch.gguf!, p.name)));
    expect(g.tensors.map((t) => t.name)).toContain('output.weight');
    const k = g.tensors.find((t) => t.name === 'blk.0.attn_k.weight')!;
    expect(k.dims).toEqual([32, 16]);
    const at = (row: number, col: number) => buf.readFloatLE(g.dataStart + k.offset + (row * 32 + col) * 4);
    const hf = weights.get('model.layers.0.self_attn.k_proj.weight')!.data;
    // head 1, pair j=1, second half (s=1): new row 8 + 2·1 + 1 = 11 is HF row 8 + 4 + 1 = 13.
    expect(at(11, 5)).toBe(hf[13 * 32 + 5]);
    expect(at(0, 0)).toBe(hf[0]);
  });

  it('writes quantized matrices as Q8_0 blocks, repacked from the same payload', () => {
    const q = quantizeWeights(weights, selectParameters(params, 'linear').map((spec) => ({ spec, bits: 8 as const })));
    const file = path.join(tmp(), 'q.gguf');
    const mats = new Map(q.quantized.map((name) => {
      const w = weights.get(name)!;
      return [name, quantizeMatrix(w.data, w.shape[0], w.shape[1], 8)];
    }));
    exportGguf(file, { dir: tmp(), arch, cfg, weights: q.dequantized, quantized: mats, half: false, name: 'q' }, params);
    const buf = fs.readFileSync(file);
    const g = readGguf(buf);
    expect(g.metadata.get('general.file_type')).toBe(7);
    const v = g.tensors.find((t) => t.name === 'blk.1.attn_v.weight')!;
    expect(v.type).toBe(GGML_TYPE.Q8_0);
    expect(v.dims).toEqual([32, 16]);
    const expected = toGgufBlocks(mats.get('model.layers.1.self_attn.v_proj.weight')!);
    expect(expected.byteLength).toBe(16 * 34);
    expect(buf.subarray(g.dataStart + v.offset, g.dataStart + v.offset + expected.byteLength)).toEqual(Buffer.from(expected));
    expect(g.tensors.find((t) => t.name === 'token_embd.weight')!.type).toBe(GGML_TYPE.F32);
  });
});

describe('exportGguf of a model with sliding windows', () => {
  it('states its smallest window as the context, where llama.cpp computes the same model', () => {
    const raw = { ...TINY_LLAMA, vocab_size: 40, model_type: 'mistral', sliding_window: 6, max_position_embeddings: 64 };
    const { arch, cfg } = resolveArchitecture(raw);
    const file = path.join(tmp(), 'w.gguf');
    exportGguf(file, { dir: tmp(), arch, cfg, weights: arch.init(cfg, new Random(1)), quantized: new Map(), half: false, name: 'w' }, arch.parameters(cfg));
    expect(readGguf(fs.readFileSync(file)).metadata.get('llama.context_length')).toBe(6);
    const full = resolveArchitecture({ ...raw, sliding_window: null });
    exportGguf(file, { dir: tmp(), arch, cfg: full.cfg, weights: arch.init(full.cfg, new Random(1)), quantized: new Map(), half: false, name: 'w' }, arch.parameters(full.cfg));
    expect(readGguf(fs.readFileSync(file)).metadata.get('llama.context_length')).toBe(64);
  });
});

describe('exportGguf (phi3)', () => {
  const base = {
    model_type: 'phi3', vocab_size: 40, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 1, num_attention_heads: 4,
    num_key_value_heads: 2, max_position_embeddings: 64, original_max_position_embeddings: 32, sliding_window: 8, partial_rotary_factor: 0.5,
  };

  it('keeps qkv_proj and gate_up_proj fused as attn_qkv / ffn_up, rows unpermuted (NEOX rope), with the phi3 keys', () => {
    const { arch, cfg } = resolveArchitecture(base);
    const params = arch.parameters(cfg);
    const weights = arch.init(cfg, new Random(2));
    const file = path.join(tmp(), 'p.gguf');
    exportGguf(file, { dir: tmp(), arch, cfg, weights, quantized: new Map(), half: false, name: 'phi' }, params);
    const buf = fs.readFileSync(file);
    const g = readGguf(buf);
    expect(g.metadata.get('general.architecture')).toBe('phi3');
    expect(g.metadata.get('phi3.rope.dimension_count')).toBe(4);
    expect(g.metadata.get('phi3.rope.scaling.original_context_length')).toBe(32);
    expect(g.metadata.get('phi3.attention.sliding_window')).toBe(8);
    expect(g.tensors.map((t) => t.name)).toEqual([
      'token_embd.weight', 'blk.0.attn_norm.weight', 'blk.0.attn_qkv.weight', 'blk.0.attn_output.weight',
      'blk.0.ffn_norm.weight', 'blk.0.ffn_up.weight', 'blk.0.ffn_down.weight', 'output_norm.weight', 'output.weight',
    ]);
    const qkv = g.tensors.find((t) => t.name === 'blk.0.attn_qkv.weight')!;
    expect(qkv.dims).toEqual([32, 64]);
    expect(buf.readFloatLE(g.dataStart + qkv.offset + (9 * 32 + 3) * 4)).toBe(weights.get('model.layers.0.self_attn.qkv_proj.weight')!.data[9 * 32 + 3]);
  });

  it('writes longrope\'s factors as rope_factors_long/short tensors and its attention factor, as convert_hf_to_gguf.py does', () => {
    const longrope = { type: 'longrope', short_factor: [1, 1.5], long_factor: [2, 4.5], attention_factor: 1.25 };
    const { arch, cfg } = resolveArchitecture({ ...base, rope_scaling: longrope });
    const file = path.join(tmp(), 'l.gguf');
    exportGguf(file, { dir: tmp(), arch, cfg, weights: arch.init(cfg, new Random(2)), quantized: new Map(), half: true, name: 'phi' }, arch.parameters(cfg));
    const buf = fs.readFileSync(file);
    const g = readGguf(buf);
    expect(g.metadata.get('phi3.rope.scaling.attn_factor')).toBe(1.25);
    const values = (name: string) => {
      const t = g.tensors.find((x) => x.name === name)!;
      expect([t.dims, t.type]).toEqual([[2], GGML_TYPE.F32]);
      return [0, 1].map((i) => buf.readFloatLE(g.dataStart + t.offset + 4 * i));
    };
    expect(values('rope_factors_long.weight')).toEqual([2, 4.5]);
    expect(values('rope_factors_short.weight')).toEqual([1, 1.5]);
    expect(g.tensors.map((t) => t.name).slice(0, 3)).toEqual(['rope_factors_long.weight', 'rope_factors_short.weight', 'token_embd.weight']);
  });
});
