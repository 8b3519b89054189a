import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/tool.js';
import { gpt_neo, normalizeGptNeoConfig } from '../../src/models/gpt_neo.js';

const base = { model_type: 'gpt_neo', hidden_size: 32, num_heads: 4, num_layers: 3 };

describe('gpt_neo config', () => {
  it('expands attention_types into per-layer windows, global layers unwindowed', () => {
    const cfg = normalizeGptNeoConfig({ ...base, attention_types: [[['global', 'local'], 1], [['local'], 1]], window_size: 7 });
    expect(cfg.slidingWindows).toEqual([null, 7, 7]);
    expect(cfg).toMatchObject({ intermediateSize: 128, activation: 'gelu_tanh', tieWordEmbeddings: true, maxPositions: 2048 });
  });

  it('reads a saved attention_layers first, as GPTNeoConfig keeps it over attention_types when it loads', () => {
    const cfg = normalizeGptNeoConfig({ ...base, attention_types: [[['global', 'local'], 1], [['local'], 1]], attention_layers: ['local', 'global', 'local'], window_size: 7 });
    expect(cfg.slidingWindows).toEqual([7, null, 7]);
  });

  it.each([
    [{ attention_types: [[['global', 'local'], 2]] }, /expands to 4 layers but num_layers is 3/],
    [{ attention_layers: ['global', 'local'] }, /"attention_layers" has 2 layers but num_layers is 3/],
    [{}, /expands to 24 layers but num_layers is 3/],
    [{ attention_types: [[['global', 'sparse'], 1], [['global'], 1]] }, /attention type "sparse" is not supported/],
    [{ attention_types: 'global' }, /"attention_types" must look like/],
    [{ attention_types: [[['global'], 3]], activation_function: 'swish' }, /activation_function "swish" is not supported/],
  ])('rejects %j with a one-line UserError', (over, message) => {
    const fn = () => normalizeGptNeoConfig({ ...base, ...over });
    expect(fn).toThrow(UserError);
    expect(fn).toThrow(message);
  });
});

describe('gpt_neo sanitize', () => {
  it('drops the causal-mask buffers and prefixes a bare GPTNeoModel', () => {
    const t = { shape: [1], data: new Float32Array(1) };
    const out = gpt_neo.sanitize!(new Map([
      ['h.0.attn.attention.bias', t],
      ['h.0.attn.attention.masked_bias', t],
      ['h.0.attn.attention.out_proj.bias', t],
      ['transformer.wte.weight', t],
      ['lm_head.weight', t],
    ]));
    expect([...out.keys()]).toEqual(['transformer.h.0.attn.attention.out_proj.bias', 'transformer.wte.weight', 'lm_head.weight']);
  });
});
