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
  // group A
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
  // group B
  // group C
  // group D
};

/** Prompts longer than every sliding window above, and one short one. */
export const HF_PROMPTS: number[][] = [
  [1, 5, 9, 2, 7, 3, 11, 4, 8, 6, 10, 12, 40, 33],
  [17, 3, 3, 3, 91, 0],
];

export const HF_NEW_TOKENS = 10;
