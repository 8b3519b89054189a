/**
 * GGUF names and keys of the LLaMA variants (qwen3, olmo2, granite, smollm3) as llama.cpp's
 * convert_hf_to_gguf.py writes them, and the configs llama.cpp's graphs cannot express.
 */
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/tool.js';
import { ggufTensorName } from '../../src/export/gguf.js';
import { resolveArchitecture } from '../../src/models/index.js';

const SIZES = { vocab_size: 40, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2 };

function ggufOf(raw: Record<string, unknown>) {
  const { arch, cfg } = resolveArchitecture({ ...SIZES, ...raw });
  const spec = arch.gguf!;
  const params = arch.parameters(cfg);
  const layer0 = params.filter((p) => p.name.startsWith('model.layers.0.')).map((p) => ggufTensorName(spec, p.name));
  const keys = new Map(spec.hyperparameters(cfg));
  const permuted = params.filter((p) => spec.rowOrder?.(p, cfg)).map((p) => p.name);
  return { spec, cfg, layer0, keys, permuted };
}

describe('GGUF export of the LLaMA variants', () => {
  it('qwen3: attn_q_norm/attn_k_norm, key_length for its own head_dim, NEOX rope (no permutation)', () => {
    const { spec, layer0, keys, permuted } = ggufOf({ model_type: 'qwen3' });
    expect(spec.arch).toBe('qwen3');
    expect(layer0).toEqual([
      'blk.0.attn_norm.weight', 'blk.0.attn_q.weight', 'blk.0.attn_k.weight', 'blk.0.attn_v.weight', 'blk.0.attn_output.weight',
      'blk.0.attn_q_norm.weight', 'blk.0.attn_k_norm.weight', 'blk.0.ffn_norm.weight', 'blk.0.ffn_gate.weight', 'blk.0.ffn_up.weight', 'blk.0.ffn_down.weight',
    ]);
    expect(keys.get('attention.key_length')).toEqual({ type: 'u32', value: 128 });
    expect(permuted).toEqual([]);
  });

  it('olmo2: post_attention_norm and post_ffw_norm instead of attn_norm/ffn_norm', () => {
    const { spec, layer0, permuted } = ggufOf({ model_type: 'olmo2' });
    expect(spec.arch).toBe('olmo2');
    expect(layer0).toEqual([
      'blk.0.attn_q.weight', 'blk.0.attn_k.weight', 'blk.0.attn_v.weight', 'blk.0.attn_output.weight', 'blk.0.attn_q_norm.weight',
      'blk.0.attn_k_norm.weight', 'blk.0.post_attention_norm.weight', 'blk.0.ffn_gate.weight', 'blk.0.ffn_up.weight', 'blk.0.ffn_down.weight',
      'blk.0.post_ffw_norm.weight',
    ]);
    expect(permuted).toEqual([]);
  });

  it('granite: the four scalars under their *_scale keys, q/k permuted for NORM rope', () => {
    const { keys, permuted } = ggufOf({ model_type: 'granite', embedding_multiplier: 12, residual_multiplier: 0.22, attention_multiplier: 0.0078125, logits_scaling: 8 });
    expect(keys.get('embedding_scale')).toEqual({ type: 'f32', value: 12 });
    expect(keys.get('residual_scale')).toEqual({ type: 'f32', value: 0.22 });
    expect(keys.get('attention.scale')).toEqual({ type: 'f32', value: 0.0078125 });
    expect(keys.get('logit_scale')).toEqual({ type: 'f32', value: 8 });
    expect(permuted.filter((n) => n.includes('layers.0.'))).toEqual(['model.layers.0.self_attn.q_proj.weight', 'model.layers.0.self_attn.k_proj.weight']);
    expect(() => ggufOf({ model_type: 'granite', head_dim: 16 })).toThrow(UserError);
  });

  it('smollm3: exports llama.cpp\'s fixed every-4th NoPE pattern, refuses any other and sliding windows', () => {
    const { spec, permuted } = ggufOf({ model_type: 'smollm3' });
    expect(spec.arch).toBe('smollm3');
    expect(permuted).toHaveLength(8);
    expect(() => ggufOf({ model_type: 'smollm3', no_rope_layer_interval: 2 })).toThrow(/every 4th layer/);
    expect(() => ggufOf({ model_type: 'smollm3', use_sliding_window: true, sliding_window: 8 })).toThrow(/sliding-window/);
  });

  it('qwen3 refuses sliding windows and attention biases, which llama.cpp\'s qwen3 lacks', () => {
    expect(() => ggufOf({ model_type: 'qwen3', use_sliding_window: true, sliding_window: 8, max_window_layers: 2 })).toThrow(/sliding-window/);
    expect(() => ggufOf({ model_type: 'qwen3', attention_bias: true })).toThrow(/attention biases/);
  });
});
