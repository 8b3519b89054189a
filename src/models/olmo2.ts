/**
 * OLMo 2 (model_type "olmo2"): the LLaMA layers with their norms moved to the outputs —
 * h + norm(attn(h)), then h + norm(mlp(h)) (post_attention_layernorm, post_feedforward_layernorm;
 * no input_layernorm) — and an RMSNorm over the whole q and k projections (q_norm, k_norm of
 * heads·head_dim) before the head split and rope.
 */
import type { Architecture } from './architecture.js';
import {
  LLAMA_GGUF_NAMES,
  llamaGgufHyperparameters,
  QK_NORM_GGUF_NAMES,
  requirePlainAttention,
} from './llama-gguf.js';
import { llamaFamily, normalizeLlamaConfig, type LlamaConfig, type LlamaFamilyDefaults } from './llama.js';

const DEFAULTS: LlamaFamilyDefaults = {
  modelType: 'olmo2',
  hfClass: 'Olmo2ForCausalLM',
  // llama.cpp's olmo2 uses NEOX rope (rotate-half pairs), so q/k rows stay as they are.
  gguf: { arch: 'olmo2', permuteQK: false },
  vocabSize: 50304,
  maxPositions: 2048,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  tieWordEmbeddings: false,
};

const base = llamaFamily(DEFAULTS);

export const olmo2: Architecture<LlamaConfig> = {
  ...base,
  // Olmo2Config's token ids where config.json leaves them out. Olmo2Attention has no sliding
  // window and Olmo2MLP no biases: transformers ignores layer_types, sliding_window and
  // mlp_bias here, so do we.
  normalizeConfig: (raw) => ({
    ...normalizeLlamaConfig({ pad_token_id: 1, eos_token_id: 50279, ...raw, layer_types: null, sliding_window: null, mlp_bias: false }, DEFAULTS),
    qkNorm: 'projection',
    postNorms: true,
  }),
  reshape: {
    ...base.reshape,
    freshConfig: (cur) => ({ ...base.reshape.freshConfig(cur), rms_norm_eps: DEFAULTS.rmsNormEps }),
  },
  gguf: {
    ...base.gguf!,
    // llama.cpp's olmo2 requires output.weight (no fallback to token_embd): a tied head is written twice.
    writesTiedHead: true,
    // Before LLaMA's names: there post_attention_layernorm is the MLP's input norm (ffn_norm).
    tensorNames: [
      [/^model\.layers\.(\d+)\.post_attention_layernorm\.weight$/, 'blk.$1.post_attention_norm.weight'],
      [/^model\.layers\.(\d+)\.post_feedforward_layernorm\.weight$/, 'blk.$1.post_ffw_norm.weight'],
      ...QK_NORM_GGUF_NAMES,
      ...LLAMA_GGUF_NAMES,
    ],
    hyperparameters: (cfg) => {
      requirePlainAttention(cfg, 'olmo2');
      return llamaGgufHyperparameters(cfg);
    },
  },
};
