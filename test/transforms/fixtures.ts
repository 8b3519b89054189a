/** Configs shared by the transform and export tests. */

/** An untied LLaMA with grouped-query attention, so the LM head is a tensor of its own. */
export const TINY_LLAMA = {
  model_type: 'llama', hidden_size: 32, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 2,
  intermediate_size: 64, max_position_embeddings: 64, tie_word_embeddings: false, rms_norm_eps: 1e-5,
};
