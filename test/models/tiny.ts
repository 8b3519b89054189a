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
    num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 64, sliding_window: 3,
    layer_types: ['full_attention', 'sliding_attention'], rope_parameters: { rope_type: 'default', rope_theta: 50000 },
  },
  // group A
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
  // group B
  // group C
  // group D
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
