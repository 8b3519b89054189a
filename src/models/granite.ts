/**
 * Granite (model_type "granite", IBM Granite 3): the LLaMA architecture with four scalars —
 * embeddings × embedding_multiplier, each attention/MLP output × residual_multiplier before
 * its residual add, attention_multiplier as the q·kᵀ scale (instead of head_dim^−½) and
 * logits ÷ logits_scaling.
 */
import type { GgufValue } from '../export/gguf-format.js';
import { UserError } from '../core/tool.js';
import { ConfigReader, type Architecture } from './architecture.js';
import { llamaGgufHyperparameters } from './llama-gguf.js';
import { llamaFamily, normalizeLlamaConfig, type LlamaConfig, type LlamaFamilyDefaults } from './llama.js';

const DEFAULTS: LlamaFamilyDefaults = {
  modelType: 'granite',
  hfClass: 'GraniteForCausalLM',
  // llama.cpp's granite rotates interleaved pairs (NORM rope), so q/k rows are permuted as llama's.
  gguf: { arch: 'granite', permuteQK: true },
  vocabSize: 32000,
  maxPositions: 2048,
  rmsNormEps: 1e-6,
  ropeTheta: 10000,
  tieWordEmbeddings: false,
};

const base = llamaFamily(DEFAULTS);

export const granite: Architecture<LlamaConfig> = {
  ...base,
  normalizeConfig: (raw) => {
    const r = new ConfigReader(raw, 'granite config.json');
    return {
      // GraniteConfig's token ids where config.json leaves them out. GraniteAttention has no
      // sliding window: transformers ignores layer_types/sliding_window here, so do we.
      ...normalizeLlamaConfig({ bos_token_id: 1, eos_token_id: 2, ...raw, layer_types: null, sliding_window: null }, DEFAULTS),
      multipliers: {
        embedding: r.number('embedding_multiplier', 1),
        residual: r.number('residual_multiplier', 1),
        attention: r.number('attention_multiplier', 1),
        logits: r.number('logits_scaling', 1),
      },
    };
  },
  reshape: {
    ...base.reshape,
    // Granite 3's scalars are tuned to its widths; a fresh model starts from the neutral ones
    // except the attention scale, which keeps the usual head_dim^−½.
    freshConfig: (cur) => ({
      ...base.reshape.freshConfig(cur),
      embedding_multiplier: 1,
      residual_multiplier: 1,
      attention_multiplier: 1 / Math.sqrt(cur.headDim),
      logits_scaling: 1,
    }),
  },
  gguf: {
    ...base.gguf!,
    hyperparameters: (cfg) => {
      // convert_hf_to_gguf.py drops head_dim for granite: llama.cpp derives it from the width.
      if (cfg.headDim * cfg.numHeads !== cfg.hiddenSize) {
        throw new UserError(`--export_format gguf: llama.cpp's granite needs head_dim = hidden_size / heads (${cfg.hiddenSize / cfg.numHeads}), this config has ${cfg.headDim}; use onnx or safetensors`);
      }
      const m = cfg.multipliers!;
      const f32 = (value: number): GgufValue => ({ type: 'f32', value });
      return [
        ...llamaGgufHyperparameters(cfg),
        ['embedding_scale', f32(m.embedding)],
        ['residual_scale', f32(m.residual)],
        ['attention.scale', f32(m.attention)],
        ['logit_scale', f32(m.logits)],
      ];
    },
  },
};
