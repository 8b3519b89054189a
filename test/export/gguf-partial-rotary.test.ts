/**
 * GGUF export of the LayerNorm / partial-rotary families (gpt_neox, phi, stablelm,
 * starcoder2): llama.cpp's tensor names and keys, GPT-NeoX's per-head q/k/v rows regrouped into
 * blocks, and one-line refusals where llama.cpp's graph cannot hold the model.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { readGguf } from '../../src/export/gguf-format.js';
import { exportGguf, ggufTensorName } from '../../src/export/gguf.js';
import { resolveArchitecture } from '../../src/models/index.js';
import { qkvBlockOrder } from '../../src/models/gpt_neox.js';
import { TINY_CONFIGS } from '../models/tiny.js';

function exported(raw: Record<string, unknown>) {
  const { arch, cfg } = resolveArchitecture(raw);
  const weights = arch.init(cfg, new Random(2));
  for (const t of weights.values()) for (let i = 0; i < t.data.length; i++) t.data[i] = Math.fround(Math.sin(i + t.data.length));
  const params = arch.parameters(cfg);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-gguf-b-'));
  const file = path.join(dir, 'm.gguf');
  exportGguf(file, { dir, arch, cfg, weights, quantized: new Map(), half: false, name: 'tiny' }, params);
  const buf = fs.readFileSync(file);
  return { arch, params, weights, buf, g: readGguf(buf) };
}

describe('GGUF export: gpt_neox', () => {
  const raw = TINY_CONFIGS['gpt_neox (parallel residual, rotary_pct ½, legacy keys)'];

  it('regroups query_key_value rows from per head [q;k;v] into q, k, v blocks', () => {
    // 2 heads of 2: HF rows q0 q0 k0 k0 v0 v0 q1 q1 k1 k1 v1 v1.
    expect(Array.from(qkvBlockOrder(2, 2))).toEqual([0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11]);
  });

  it('names tensors as llama.cpp\'s gptneox, writes its keys, and reorders weight and bias rows', () => {
    const { params, weights, buf, g } = exported(raw);
    const names = g.tensors.map((t) => t.name);
    expect(names).toContain('blk.1.attn_qkv.weight');
    expect(names).toContain('output.weight');
    expect(names).toContain('output_norm.bias');
    expect(names.length).toBe(params.length);
    expect(g.metadata.get('general.architecture')).toBe('gptneox');
    expect(g.metadata.get('gptneox.rope.dimension_count')).toBe(4);
    expect(g.metadata.get('gptneox.rope.freq_base')).toBe(5000);
    expect(g.metadata.get('gptneox.use_parallel_residual')).toBe(true);
    const C = 32;
    const D = 8;
    const w = g.tensors.find((t) => t.name === 'blk.0.attn_qkv.weight')!;
    const hf = weights.get('gpt_neox.layers.0.attention.query_key_value.weight')!.data;
    // GGUF row C + D (k of head 1) is HF row 1·3D + D (head 1's k block).
    expect(buf.readFloatLE(g.dataStart + w.offset + ((C + D) * C + 3) * 4)).toBe(hf[(3 * D + D) * C + 3]);
    const b = g.tensors.find((t) => t.name === 'blk.0.attn_qkv.bias')!;
    const hfBias = weights.get('gpt_neox.layers.0.attention.query_key_value.bias')!.data;
    expect(buf.readFloatLE(g.dataStart + b.offset + (2 * C + 1) * 4)).toBe(hfBias[2 * D + 1]);
  });

  it('refuses a config without attention biases (llama.cpp adds them unconditionally)', () => {
    expect(() => exported(TINY_CONFIGS['gpt_neox (sequential, ¼ rotary, tied, no attention bias, tanh gelu)'])).toThrow(/attention_bias false/);
  });
});

describe('GGUF export: phi, stablelm, starcoder2', () => {
  it('phi2: every tensor named, head bias as output.bias, a tied head written as output.weight', () => {
    const { g } = exported(TINY_CONFIGS['phi (tied head with its own bias, ¼ rotary, exact gelu)']);
    const names = g.tensors.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['blk.0.attn_output.bias', 'blk.1.ffn_up.weight', 'output.bias', 'output.weight', 'output_norm.weight']));
    expect(g.metadata.get('phi2.rope.dimension_count')).toBe(4);
    expect(() => exported(TINY_CONFIGS['phi (GQA, qk_layernorm, partial rotary ½)'])).toThrow(/qk_layernorm/);
  });

  it('stablelm: no ffn_norm in a parallel block; per-head q/k norms refused', () => {
    const { arch, params, g } = exported(TINY_CONFIGS['stablelm (sequential, tied, rotary ½)']);
    expect(g.tensors.map((t) => t.name)).toEqual([...params.map((p) => ggufTensorName(arch.gguf!, p.name)), 'output.weight']);
    expect(g.metadata.get('stablelm.rope.dimension_count')).toBe(4);
    expect(g.metadata.get('stablelm.use_parallel_residual')).toBe(false);
    expect(() => exported(TINY_CONFIGS['stablelm (GQA, per-head qk_layernorm, qkv bias, parallel residual)'])).toThrow(/qk_layernorm/);
  });

  it('starcoder2: the sliding window is the declared context (llama.cpp\'s graph has no window)', () => {
    const { g } = exported(TINY_CONFIGS['starcoder2 (GQA, sliding window 3, biases, untied)']);
    expect(g.metadata.get('starcoder2.context_length')).toBe(3);
    expect(g.metadata.get('starcoder2.attention.head_count_kv')).toBe(2);
    expect(g.tensors.map((t) => t.name)).toContain('blk.1.ffn_down.bias');
    expect(() => exported(TINY_CONFIGS['starcoder2 (tied, no biases, exact gelu, head_dim override)'])).toThrow(/use_bias false/);
  });
});
