/**
 * SmolLM3 (model_type "smollm3"): the LLaMA architecture (GQA, tied head) where some layers
 * skip rope ("NoPE"): no_rope_layers[i] = 1 rotates layer i, 0 does not; without the list,
 * every no_rope_layer_interval-th layer (4th, 8th…) skips it. Sliding windows come from
 * layer_types, or (older configs) with use_sliding_window on the NoPE layers.
 */
import { UserError } from '../core/tool.js';
import { ConfigReader, type Architecture } from './architecture.js';
import { continuePattern, resizeLayerList } from './layer-types.js';
import { llamaGgufHyperparameters, requirePlainAttention } from './llama-gguf.js';
import {
  derivedLayerTypes,
  llamaFamily,
  normalizeLlamaConfig,
  type LlamaConfig,
  type LlamaFamilyDefaults,
} from './llama.js';

const WHERE = 'smollm3 config.json';

/** no_rope_layers as SmolLM3Config derives it: 0 (no rope) on every no_rope_layer_interval-th layer. */
function derivedNoRope(raw: Record<string, unknown>, numLayers: number): number[] {
  const interval = new ConfigReader(raw, WHERE).int('no_rope_layer_interval', 4);
  return Array.from({ length: numLayers }, (_, i) => ((i + 1) % interval !== 0 ? 1 : 0));
}

/** Per layer: does it rotate q/k? From no_rope_layers, else from no_rope_layer_interval (4). */
function ropeLayers(raw: Record<string, unknown>, numLayers: number): boolean[] {
  const list = raw.no_rope_layers;
  if (list === undefined || list === null) return derivedNoRope(raw, numLayers).map((x) => x === 1);
  if (!Array.isArray(list) || list.length < numLayers || !list.every((x) => x === 0 || x === 1 || typeof x === 'boolean')) {
    throw new UserError(`${WHERE}: "no_rope_layers" must list 1 (rope) or 0 (no rope) for each of the ${numLayers} layers, got ${JSON.stringify(list)}`);
  }
  return list.slice(0, numLayers).map((x) => x === 1 || x === true);
}

const DEFAULTS: LlamaFamilyDefaults = {
  modelType: 'smollm3',
  hfClass: 'SmolLM3ForCausalLM',
  // llama.cpp's smollm3 rotates interleaved pairs (NORM rope), so q/k rows are permuted as llama's
  // (on NoPE layers too: the same permutation of q and k leaves q·k unchanged).
  gguf: { arch: 'smollm3', permuteQK: true },
  vocabSize: 128256,
  maxPositions: 32768,
  rmsNormEps: 1e-6,
  ropeTheta: 2000000,
  tieWordEmbeddings: true,
  // SmolLM3Config without layer_types: use_sliding_window slides the NoPE layers.
  legacySliding: (raw, layer) => raw.use_sliding_window === true && !ropeLayers(raw, layer + 1)[layer],
  readsLayerTypes: true,
};

const base = llamaFamily(DEFAULTS);

export const smollm3: Architecture<LlamaConfig> = {
  ...base,
  normalizeConfig: (given) => {
    // SmolLM3Config's sizes and token ids where config.json leaves them out (LLaMA's differ).
    const raw = {
      hidden_size: 2048, num_hidden_layers: 36, num_attention_heads: 16, num_key_value_heads: 4,
      pad_token_id: 128004, bos_token_id: 128000, eos_token_id: 128001, ...given,
    };
    // Checked before the sliding windows, which read it too.
    const rope = ropeLayers(raw, new ConfigReader(raw, WHERE).int('num_hidden_layers'));
    return { ...normalizeLlamaConfig(raw, DEFAULTS), ropeLayers: rope };
  },
  reshape: {
    ...base.reshape,
    // pad_token_id null: SmolLM3's default 128004 lies outside a smaller vocabulary, where transformers' Embedding refuses it.
    freshConfig: (cur) => ({ ...base.reshape.freshConfig(cur), rope_theta: DEFAULTS.ropeTheta, no_rope_layer_interval: 4, pad_token_id: null }),
    // Both lists follow the depth (derived again where SmolLM3Config derived them); layer_types is
    // judged before no_rope_layers changes, since its derivation reads that list.
    resized: (out, from, to) => {
      const types = out.layer_types;
      const typesDerived = Array.isArray(types) && JSON.stringify(types) === JSON.stringify(derivedLayerTypes(out, from.numLayers, DEFAULTS));
      if (Array.isArray(out.no_rope_layers)) out.no_rope_layers = resizeLayerList(out.no_rope_layers, from.numLayers, to.numLayers, (n) => derivedNoRope(out, n));
      if (Array.isArray(types)) out.layer_types = typesDerived ? derivedLayerTypes(out, to.numLayers, DEFAULTS) : continuePattern(types, to.numLayers);
    },
  },
  gguf: {
    ...base.gguf!,
    hyperparameters: (cfg) => {
      requirePlainAttention(cfg, 'smollm3');
      // llama.cpp fixes the NoPE pattern at every 4th layer (n_no_rope_layer_step = 4) and reads no key for it.
      if (cfg.ropeLayers!.some((r, i) => r !== ((i + 1) % 4 !== 0))) {
        throw new UserError('--export_format gguf: llama.cpp\'s smollm3 skips rope on every 4th layer only; this config\'s no_rope_layers differ; use onnx or safetensors');
      }
      if (cfg.mlpBias) throw new UserError('--export_format gguf: llama.cpp\'s smollm3 has no MLP biases (mlp_bias is true); use onnx or safetensors');
      return llamaGgufHyperparameters(cfg);
    },
  },
};
