/**
 * Qwen3 (model_type "qwen3"): the LLaMA block with an RMSNorm on each query and key head
 * (self_attn.q_norm / k_norm, head_dim wide) before rope; head_dim is its own config field
 * (128 by default, not hidden_size / heads); attention_bias covers q/k/v and o_proj alike;
 * sliding windows as Qwen2 (use_sliding_window from max_window_layers on, or layer_types).
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
  modelType: 'qwen3',
  hfClass: 'Qwen3ForCausalLM',
  // llama.cpp's qwen3 uses NEOX rope (rotate-half pairs), so q/k rows stay as they are.
  gguf: { arch: 'qwen3', permuteQK: false },
  vocabSize: 151936,
  maxPositions: 32768,
  rmsNormEps: 1e-6,
  ropeTheta: 10000,
  tieWordEmbeddings: false,
  // Qwen3Config: sliding_window counts only with use_sliding_window, on layers from max_window_layers (28) on.
  legacySliding: (raw, layer) => raw.use_sliding_window === true && layer >= (typeof raw.max_window_layers === 'number' ? raw.max_window_layers : 28),
  readsLayerTypes: true,
  slidingSwitch: 'use_sliding_window',
};

const base = llamaFamily(DEFAULTS);

export const qwen3: Architecture<LlamaConfig> = {
  ...base,
  normalizeConfig: (raw) => ({
    // Qwen3Config's defaults where LLaMA's differ; Qwen3MLP has no biases whatever mlp_bias says.
    ...normalizeLlamaConfig({ intermediate_size: 22016, head_dim: 128, ...raw, mlp_bias: false }, DEFAULTS),
    qkNorm: 'head',
  }),
  reshape: {
    ...base.reshape,
    // Without head_dim a Qwen3 config means 128, whatever the width.
    freshConfig: (cur) => ({ ...base.reshape.freshConfig(cur), head_dim: cur.headDim }),
  },
  gguf: {
    ...base.gguf!,
    tensorNames: [...QK_NORM_GGUF_NAMES, ...LLAMA_GGUF_NAMES],
    hyperparameters: (cfg) => {
      requirePlainAttention(cfg, 'qwen3');
      return llamaGgufHyperparameters(cfg);
    },
    // Qwen3 ships Qwen2's byte-level BPE, which llama.cpp pre-tokenizes as "qwen2".
    tokenizerPre: 'qwen2',
  },
};
