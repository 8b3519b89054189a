/** Tiny random model configs shared by the architecture, reference and session tests. */
import { Random } from '../../src/core/random.js';
import type { Architecture, DecoderConfig } from '../../src/models/architecture.js';
import { architectureFor } from '../../src/models/index.js';
import type { Weights } from '../../src/models/tensor.js';

export const TINY_CONFIGS: Record<string, Record<string, unknown>> = {
  'gpt2 (tied)': {
    model_type: 'gpt2', vocab_size: 61, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 4,
    activation_function: 'gelu_new', layer_norm_epsilon: 1e-5,
  },
  'gpt2 (untied, exact gelu)': {
    model_type: 'gpt2', vocab_size: 53, n_positions: 32, n_embd: 48, n_layer: 2, n_head: 4,
    activation_function: 'gelu', tie_word_embeddings: false, n_inner: 80,
  },
  'llama (GQA, untied)': {
    model_type: 'llama', vocab_size: 67, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, rms_norm_eps: 1e-5,
    rope_theta: 10000, tie_word_embeddings: false,
  },
  'llama (tied, llama3 rope, biases)': {
    model_type: 'llama', vocab_size: 50, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 1, max_position_embeddings: 64, rms_norm_eps: 1e-6,
    rope_theta: 500000, tie_word_embeddings: true, attention_bias: true, mlp_bias: true,
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
  },
  'qwen2 (q/k/v bias)': {
    model_type: 'qwen2', vocab_size: 71, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, rope_theta: 1000000,
    tie_word_embeddings: true,
  },
  'mistral (head_dim override, sliding window 4)': {
    model_type: 'mistral', vocab_size: 59, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, max_position_embeddings: 64, sliding_window: 4,
  },
  'qwen2 (layer_types: full then sliding 3)': {
    model_type: 'qwen2', vocab_size: 45, hidden_size: 32, intermediate_size: 40, num_hidden_layers: 2,
    num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 64, sliding_window: 3, use_sliding_window: true,
    layer_types: ['full_attention', 'sliding_attention'], rope_parameters: { rope_type: 'default', rope_theta: 50000 },
  },
  'qwen3 (per-head q/k norm, head_dim 12, biases, layer_types sliding 4)': {
    model_type: 'qwen3', vocab_size: 57, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, head_dim: 12, max_position_embeddings: 64, attention_bias: true,
    sliding_window: 4, use_sliding_window: true, layer_types: ['sliding_attention', 'full_attention'], tie_word_embeddings: true,
  },
  'olmo2 (post-norms, q/k norm over the projection, GQA, untied)': {
    model_type: 'olmo2', vocab_size: 63, hidden_size: 32, intermediate_size: 56, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, rms_norm_eps: 1e-5, rope_theta: 50000,
  },
  'granite (embedding/residual/attention/logit multipliers, MLP bias, tied)': {
    model_type: 'granite', vocab_size: 55, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, tie_word_embeddings: true, mlp_bias: true,
    embedding_multiplier: 3, residual_multiplier: 0.5, attention_multiplier: 0.2, logits_scaling: 2.5,
  },
  'smollm3 (NoPE every 2nd layer, sliding 3 on NoPE layers, GQA, tied)': {
    model_type: 'smollm3', vocab_size: 61, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 4,
    num_attention_heads: 4, num_key_value_heads: 1, max_position_embeddings: 64, pad_token_id: 0,
    no_rope_layer_interval: 2, use_sliding_window: true, sliding_window: 3,
  },
  'gpt_neox (parallel residual, rotary_pct ½, legacy keys)': {
    model_type: 'gpt_neox', vocab_size: 57, hidden_size: 32, intermediate_size: 72, num_hidden_layers: 2,
    num_attention_heads: 4, max_position_embeddings: 64, rotary_pct: 0.5, rotary_emb_base: 5000, hidden_act: 'gelu',
  },
  'gpt_neox (sequential, ¼ rotary, tied, no attention bias, tanh gelu)': {
    model_type: 'gpt_neox', vocab_size: 49, hidden_size: 32, intermediate_size: 40, num_hidden_layers: 2,
    num_attention_heads: 2, max_position_embeddings: 64, use_parallel_residual: false, tie_word_embeddings: true,
    attention_bias: false, hidden_act: 'gelu_new', rope_parameters: { rope_type: 'default', rope_theta: 10000, partial_rotary_factor: 0.25 },
  },
  'phi (GQA, qk_layernorm, partial rotary ½)': {
    model_type: 'phi', vocab_size: 63, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, partial_rotary_factor: 0.5,
    qk_layernorm: true, rope_theta: 20000, pad_token_id: 0,
  },
  'phi (tied head with its own bias, ¼ rotary, exact gelu)': {
    model_type: 'phi', vocab_size: 45, hidden_size: 32, intermediate_size: 40, num_hidden_layers: 2,
    num_attention_heads: 2, max_position_embeddings: 64, tie_word_embeddings: true, hidden_act: 'gelu',
    rope_parameters: { rope_type: 'default', rope_theta: 10000, partial_rotary_factor: 0.25 },
  },
  'stablelm (GQA, per-head qk_layernorm, qkv bias, parallel residual)': {
    model_type: 'stablelm', vocab_size: 61, hidden_size: 64, intermediate_size: 80, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, partial_rotary_factor: 0.25,
    use_qkv_bias: true, qk_layernorm: true, use_parallel_residual: true,
  },
  'stablelm (sequential, tied, rotary ½)': {
    model_type: 'stablelm', vocab_size: 47, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 4, max_position_embeddings: 64, tie_word_embeddings: true,
    rope_parameters: { rope_type: 'default', rope_theta: 10000, partial_rotary_factor: 0.5 },
  },
  'starcoder2 (GQA, sliding window 3, biases, untied)': {
    model_type: 'starcoder2', vocab_size: 53, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, sliding_window: 3,
    tie_word_embeddings: false, rope_theta: 100000,
  },
  'starcoder2 (tied, no biases, exact gelu, head_dim override)': {
    model_type: 'starcoder2', vocab_size: 51, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
    num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8, max_position_embeddings: 64, use_bias: false, hidden_act: 'gelu',
  },
  'gemma (GQA, head_dim 16 ≠ hidden/heads, attention biases, untied)': {
    model_type: 'gemma', vocab_size: 57, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 2, head_dim: 16, max_position_embeddings: 64, attention_bias: true, tie_word_embeddings: false,
  },
  'gemma2 (sandwich norms, soft-caps, alternating window 3, query_pre_attn_scalar)': {
    model_type: 'gemma2', vocab_size: 63, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 3, num_attention_heads: 4,
    num_key_value_heads: 1, head_dim: 8, max_position_embeddings: 64, sliding_window: 3, query_pre_attn_scalar: 12,
    attn_logit_softcapping: 2.5, final_logit_softcapping: 3,
  },
  'gemma3_text (q/k norms, 2:1 local/global, two rope bases, linear global rope, exact gelu)': {
    model_type: 'gemma3_text', vocab_size: 49, hidden_size: 32, intermediate_size: 40, num_hidden_layers: 3, num_attention_heads: 2,
    num_key_value_heads: 1, head_dim: 16, max_position_embeddings: 64, sliding_window: 4, query_pre_attn_scalar: 20,
    hidden_activation: 'gelu', final_logit_softcapping: 4, layer_types: ['sliding_attention', 'full_attention', 'sliding_attention'],
    rope_parameters: {
      full_attention: { rope_type: 'linear', factor: 4, rope_theta: 1e6 }, sliding_attention: { rope_type: 'default', rope_theta: 1e4 },
    },
  },
  'gpt_neo (global, local 4, local 4; unscaled attention)': {
    model_type: 'gpt_neo', vocab_size: 57, max_position_embeddings: 64, hidden_size: 32, num_layers: 3, num_heads: 4,
    attention_types: [[['global', 'local'], 1], [['local'], 1]], window_size: 4, intermediate_size: 80,
  },
  // ReLU's kink can sit within the finite-difference step of some fc1 input (the gradient test
  // then fails on a correct rule), so one config takes GELU; the ReLU one passes with its seed.
  'opt (pre-LN, exact gelu, project_in/out 24, tied)': {
    model_type: 'opt', vocab_size: 63, max_position_embeddings: 64, hidden_size: 32, num_hidden_layers: 2,
    num_attention_heads: 4, ffn_dim: 64, word_embed_proj_dim: 24, activation_function: 'gelu',
  },
  'opt (post-LN, ReLU, no biases, untied)': {
    model_type: 'opt', vocab_size: 49, max_position_embeddings: 32, hidden_size: 32, num_hidden_layers: 2,
    num_attention_heads: 2, ffn_dim: 48, do_layer_norm_before: false, enable_bias: false, tie_word_embeddings: false,
  },
  // Longrope switches factors at original_max_position_embeddings; the tests' 5–15 tokens stay on one side of it.
  'phi3 (GQA, partial rotary ½, longrope short factors, sliding window 4)': {
    model_type: 'phi3', vocab_size: 61, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 2, max_position_embeddings: 64, original_max_position_embeddings: 32, sliding_window: 4,
    partial_rotary_factor: 0.5, rope_scaling: { type: 'longrope', short_factor: [1.0, 1.5], long_factor: [2.0, 4.0] },
  },
  'phi3 (longrope long factors past an original context of 4, tied)': {
    model_type: 'phi3', vocab_size: 47, hidden_size: 32, intermediate_size: 40, num_hidden_layers: 2, num_attention_heads: 4,
    max_position_embeddings: 32, original_max_position_embeddings: 4, tie_word_embeddings: true,
    rope_parameters: { rope_type: 'longrope', rope_theta: 5000, short_factor: [1, 1, 1, 1], long_factor: [1.2, 2, 3.5, 8], attention_factor: 1.3 },
  },
};

/** A tiny model with weights drawn larger than the init scheme (std 0.2, biases and norms jittered), so every path matters. */
export function tinyModel(raw: Record<string, unknown>, seed = 1) {
  const arch = architectureFor(raw) as Architecture<DecoderConfig>;
  const cfg = arch.normalizeConfig(raw);
  const rng = new Random(seed);
  const weights: Weights = arch.init(cfg, rng);
  for (const t of weights.values()) for (let i = 0; i < t.data.length; i++) t.data[i] += rng.normal(0, 0.2);
  return { arch, cfg, weights };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
