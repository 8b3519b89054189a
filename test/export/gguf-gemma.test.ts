import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { UserError } from '../../src/core/tool.js';
import { readGguf } from '../../src/export/gguf-format.js';
import { exportGguf } from '../../src/export/gguf.js';
import { resolveArchitecture } from '../../src/models/index.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-gguf-gemma-'));
const BASE = { vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8 };

function exported(raw: Record<string, unknown>) {
  const { arch, cfg } = resolveArchitecture(raw);
  const params = arch.parameters(cfg);
  const weights = arch.init(cfg, new Random(1));
  for (const t of weights.values()) for (let i = 0; i < t.data.length; i++) t.data[i] += 0.01 * (i % 7);
  const file = path.join(tmp(), 'g.gguf');
  exportGguf(file, { dir: tmp(), arch, cfg, weights, quantized: new Map(), half: false, name: 'tiny' }, params);
  const buf = fs.readFileSync(file);
  const g = readGguf(buf);
  const f32At = (name: string, i: number) => buf.readFloatLE(g.dataStart + g.tensors.find((t) => t.name === name)!.offset + 4 * i);
  return { g, weights, f32At };
}

describe('exportGguf (gemma family)', () => {
  it('gemma3_text: llama.cpp\'s gemma3 names and keys, norm scales stored as 1 + γ as the converter writes them', () => {
    const { g, weights, f32At } = exported({
      ...BASE, model_type: 'gemma3_text', num_hidden_layers: 6, query_pre_attn_scalar: 8, sliding_window: 4, rope_theta: 1e6, rope_local_base_freq: 1e4,
    });
    expect(g.metadata.get('general.architecture')).toBe('gemma3');
    expect(g.metadata.get('gemma3.attention.sliding_window')).toBe(4);
    expect(g.metadata.get('gemma3.rope.freq_base')).toBe(1e6);
    expect(g.metadata.get('gemma3.rope.freq_base_swa')).toBe(1e4);
    expect(g.metadata.get('gemma3.attention.key_length')).toBe(8);
    const names = g.tensors.map((t) => t.name);
    for (const n of ['attn_norm', 'attn_q_norm', 'attn_k_norm', 'post_attention_norm', 'ffn_norm', 'post_ffw_norm']) expect(names).toContain(`blk.5.${n}.weight`);
    expect(names).not.toContain('output.weight');
    expect(f32At('blk.0.attn_q_norm.weight', 3)).toBeCloseTo(1 + weights.get('model.layers.0.self_attn.q_norm.weight')!.data[3], 6);
    expect(f32At('output_norm.weight', 5)).toBeCloseTo(1 + weights.get('model.norm.weight')!.data[5], 6);
    expect(f32At('blk.0.attn_q.weight', 5)).toBe(weights.get('model.layers.0.self_attn.q_proj.weight')!.data[5]);
  });

  it('gemma: the norm before the MLP is ffn_norm; gemma2 writes both soft-caps and the window', () => {
    expect(exported({ ...BASE, model_type: 'gemma', num_hidden_layers: 1 }).g.tensors.map((t) => t.name)).toContain('blk.0.ffn_norm.weight');
    const { g } = exported({ ...BASE, model_type: 'gemma2', num_hidden_layers: 2, query_pre_attn_scalar: 8, sliding_window: 4 });
    expect([g.metadata.get('gemma2.attn_logit_softcapping'), g.metadata.get('gemma2.final_logit_softcapping')]).toEqual([50, 30]);
    expect(g.metadata.get('gemma2.attention.sliding_window')).toBe(4);
    expect(g.tensors.map((t) => t.name)).toContain('blk.1.post_attention_norm.weight');
  });

  it.each([
    [{ model_type: 'gemma2', query_pre_attn_scalar: 8, tie_word_embeddings: false }, /gemma2 graph has no separate output head/],
    [{ model_type: 'gemma2', query_pre_attn_scalar: 256 }, /llama\.cpp scales gemma2 attention by 8\^-1\/2, this config by query_pre_attn_scalar 256/],
    [{ model_type: 'gemma3_text', query_pre_attn_scalar: 8, layer_types: ['full_attention', 'sliding_attention'] }, /five sliding layers to each global one/],
    [{ model_type: 'gemma', attention_bias: true }, /gemma graph has no attention biases/],
  ])('%j: one-line UserError, nothing written', (over, message) => {
    expect(() => exported({ ...BASE, num_hidden_layers: 2, ...over })).toThrow(UserError);
    expect(() => exported({ ...BASE, num_hidden_layers: 2, ...over })).toThrow(message);
  });
});
