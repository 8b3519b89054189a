/**
 * One tiny config per family for the parity tests against Hugging Face transformers: the
 * config overrides `AutoConfig.for_model(model_type, …)` gets. Sizes are small but every
 * feature the family has is switched on (GQA, biases, sliding windows shorter than the
 * prompts, partial rotary…). A new family adds its line here.
 */
export interface HfCase {
  model_type: string;
  config: Record<string, unknown>;
}

const SMALL = { vocab_size: 96, max_position_embeddings: 64, tie_word_embeddings: false };

export const HF_CASES: Record<string, HfCase> = {
  gpt2: { model_type: 'gpt2', config: { vocab_size: 96, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 4 } },
  llama: {
    model_type: 'llama',
    config: { ...SMALL, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, attention_bias: true },
  },
  mistral: {
    model_type: 'mistral',
    config: { ...SMALL, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 1, head_dim: 16, sliding_window: 5 },
  },
  qwen2: {
    model_type: 'qwen2',
    config: {
      ...SMALL, tie_word_embeddings: true, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 3, num_attention_heads: 4,
      num_key_value_heads: 2, use_sliding_window: true, sliding_window: 4, max_window_layers: 1, rope_theta: 1e6,
    },
  },
  qwen3: {
    model_type: 'qwen3',
    config: {
      ...SMALL, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2,
      head_dim: 16, attention_bias: true, use_sliding_window: true, sliding_window: 4, max_window_layers: 1, rope_theta: 1e6,
    },
  },
  olmo2: {
    model_type: 'olmo2',
    config: { ...SMALL, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, attention_bias: true },
  },
  granite: {
    model_type: 'granite',
    config: {
      ...SMALL, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
      attention_bias: true, mlp_bias: true, embedding_multiplier: 4, residual_multiplier: 0.6, attention_multiplier: 0.3, logits_scaling: 1.5,
    },
  },
  smollm3: {
    model_type: 'smollm3',
    config: {
      ...SMALL, tie_word_embeddings: true, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 4, num_attention_heads: 4,
      num_key_value_heads: 2, pad_token_id: 0, bos_token_id: 1, eos_token_id: 2, attention_bias: true,
      no_rope_layers: [1, 0, 1, 0], use_sliding_window: true, sliding_window: 5,
    },
  },
  gpt_neox: {
    model_type: 'gpt_neox',
    config: { ...SMALL, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, rotary_pct: 0.5, rotary_emb_base: 5000 },
  },
  'gpt_neox (sequential residual, tied)': {
    model_type: 'gpt_neox',
    config: { ...SMALL, tie_word_embeddings: true, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 2, use_parallel_residual: false, rotary_pct: 0.25 },
  },
  phi: {
    model_type: 'phi',
    config: { ...SMALL, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, partial_rotary_factor: 0.5, qk_layernorm: true },
  },
  'phi (tied head with bias)': {
    model_type: 'phi',
    config: { ...SMALL, tie_word_embeddings: true, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 2, partial_rotary_factor: 0.25 },
  },
  stablelm: {
    model_type: 'stablelm',
    config: {
      ...SMALL, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
      partial_rotary_factor: 0.25, use_qkv_bias: true, qk_layernorm: true, use_parallel_residual: true,
    },
  },
  'stablelm (sequential residual)': {
    model_type: 'stablelm',
    config: { ...SMALL, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 1, partial_rotary_factor: 0.5 },
  },
  starcoder2: {
    model_type: 'starcoder2',
    config: {
      ...SMALL, tie_word_embeddings: true, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4,
      num_key_value_heads: 2, sliding_window: 4, use_bias: true, rope_theta: 1e5,
    },
  },
  'starcoder2 (no biases, untied)': {
    model_type: 'starcoder2',
    config: { ...SMALL, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 1, use_bias: false },
  },
  gemma: {
    model_type: 'gemma',
    config: {
      ...SMALL, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
      head_dim: 16, attention_bias: true, hidden_act: 'gelu',
    },
  },
  gemma2: {
    model_type: 'gemma2',
    config: {
      ...SMALL, tie_word_embeddings: true, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 3, num_attention_heads: 4,
      num_key_value_heads: 1, head_dim: 16, sliding_window: 4, query_pre_attn_scalar: 12, attn_logit_softcapping: 5.5,
      final_logit_softcapping: 3.5, rope_theta: 5e4,
    },
  },
  gemma3_text: {
    model_type: 'gemma3_text',
    config: {
      ...SMALL, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2,
      head_dim: 16, attention_bias: true, sliding_window: 3, sliding_window_pattern: 3, query_pre_attn_scalar: 20,
      rope_theta: 5e5, rope_local_base_freq: 2e4, rope_scaling: { rope_type: 'linear', factor: 4 },
      final_logit_softcapping: 4.5, attn_logit_softcapping: 2.5,
    },
  },
  gpt_neo: {
    model_type: 'gpt_neo',
    config: {
      vocab_size: 96, max_position_embeddings: 64, hidden_size: 32, num_layers: 3, num_heads: 4, intermediate_size: 48,
      attention_types: [[['global', 'local'], 1], [['local'], 1]], window_size: 5,
    },
  },
  opt: {
    model_type: 'opt',
    config: { vocab_size: 96, max_position_embeddings: 64, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, ffn_dim: 64 },
  },
  'opt (post-LN, project_in/out: opt-350m layout)': {
    model_type: 'opt',
    config: {
      vocab_size: 96, max_position_embeddings: 64, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, ffn_dim: 64,
      do_layer_norm_before: false, word_embed_proj_dim: 16,
    },
  },
  // Every sequence here (≤ 23 tokens) stays within the original context of 32: short factors.
  'phi3 (GQA, partial rotary ½, longrope short factors, sliding window 5)': {
    model_type: 'phi3',
    config: {
      ...SMALL, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
      original_max_position_embeddings: 32, sliding_window: 5, pad_token_id: 0,
      rope_scaling: { type: 'longrope', short_factor: [1.0, 1.7], long_factor: [3.0, 5.0], partial_rotary_factor: 0.5 },
    },
  },
  // The 6-token prompt crosses the original context of 10 while decoding (at 11 tokens):
  // transformers' generate drops its cache there and runs the whole sequence with the long factors.
  'phi3 (longrope, decoding crosses the original context)': {
    model_type: 'phi3',
    config: {
      ...SMALL, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
      original_max_position_embeddings: 10, pad_token_id: 0,
      rope_scaling: { type: 'longrope', short_factor: [1, 1.2, 1.5, 2], long_factor: [2, 6, 11, 20] },
    },
  },
  // Both prompts (14 and 6 tokens) exceed the original context of 4 from their first pass: long factors throughout.
  'phi3 (longrope long factors, tied)': {
    model_type: 'phi3',
    config: {
      ...SMALL, tie_word_embeddings: true, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4,
      original_max_position_embeddings: 4, pad_token_id: 0, rope_scaling: { type: 'longrope', short_factor: [1, 1, 1, 1], long_factor: [1.5, 2, 4, 9] },
    },
  },
};

/** Prompts longer than every sliding window above, and one short one. */
export const HF_PROMPTS: number[][] = [
  [1, 5, 9, 2, 7, 3, 11, 4, 8, 6, 10, 12, 40, 33],
  [17, 3, 3, 3, 91, 0],
];

export const HF_NEW_TOKENS = 10;
