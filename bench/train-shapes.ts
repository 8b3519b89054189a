/**
 * The model shapes bench:train measures: Hugging Face config dicts, read by our side through
 * the family's own normalizeConfig (src/models/index.ts) and by the PyTorch peer through
 * transformers' AutoConfig.for_model, so both build the same model from the same keys.
 * Weights are random (each side's own initialisation): speed does not depend on them.
 */

export interface TrainShape {
  name: string;
  /** config.json as the hub would hold it (model_type picks the family). */
  config: Record<string, unknown>;
  batch: number;
  seq: number;
}

/** GPT-2 at 768 wide; the dropouts are 0 because our graph has none (GPT2Config's default is 0.1). */
const gpt2 = (layers: number): Record<string, unknown> => ({
  model_type: 'gpt2', n_layer: layers, n_embd: 768, n_head: 12, vocab_size: 50257, n_positions: 1024,
  activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, tie_word_embeddings: true,
});

export const TRAIN_SHAPES: readonly TrainShape[] = [
  { name: 'gpt2-4l', config: gpt2(4), batch: 8, seq: 128 },
  { name: 'gpt2-12l', config: gpt2(12), batch: 8, seq: 128 },
  {
    // HuggingFaceTB/SmolLM2-135M's shape: deep and narrow, grouped-query attention.
    name: 'smollm2-135m',
    config: {
      model_type: 'llama', num_hidden_layers: 30, hidden_size: 576, num_attention_heads: 9, num_key_value_heads: 3,
      intermediate_size: 1536, vocab_size: 49152, tie_word_embeddings: true, hidden_act: 'silu',
      rope_parameters: { rope_type: 'default', rope_theta: 100000 }, rms_norm_eps: 1e-5, max_position_embeddings: 2048,
      attention_bias: false, mlp_bias: false, attention_dropout: 0,
    },
    batch: 8,
    seq: 128,
  },
  {
    // Qwen/Qwen2.5-0.5B's shape, at batch 4 × 128: fp32 AdamW keeps 4 copies of its 494M
    // parameters (7.4 GiB) on either side before any activation, and our Trainer's up-front
    // estimate (runtime/training-memory.ts, an upper bound) is 17.9 GiB at 4 × 128 against 21.6
    // at 8 × 128, which would leave no room in 24 GiB for the MatMul ceiling process beside it.
    // Measured at 4 × 128: peak RSS 12.4 GB ours, 11.0 GB transformers'.
    name: 'qwen2.5-0.5b',
    config: {
      model_type: 'qwen2', num_hidden_layers: 24, hidden_size: 896, num_attention_heads: 14, num_key_value_heads: 2,
      intermediate_size: 4864, vocab_size: 151936, tie_word_embeddings: true, hidden_act: 'silu',
      rope_parameters: { rope_type: 'default', rope_theta: 1000000 }, rms_norm_eps: 1e-6, max_position_embeddings: 32768,
      use_sliding_window: false, attention_dropout: 0,
    },
    batch: 4,
    seq: 128,
  },
];
