/**
 * Gemma 3's text model (model_type "gemma3_text", Gemma3ForCausalLM): Gemma 2's sandwich norms
 * plus an RMSNorm (1 + γ) of every query and key head before rope, five sliding-window layers to
 * each global one (layer_types; sliding_window_pattern 6 by default) and two rope bases, keyed by
 * layer type in rope_parameters (legacy configs: rope_theta and rope_scaling for the global
 * layers, rope_local_base_freq for the sliding ones). Final logits are soft-capped if
 * final_logit_softcapping is set; attn_logit_softcapping is not applied, as in transformers,
 * whose Gemma3Attention never passes it on. The shared implementation is gemma.ts.
 */
import { UserError } from '../core/tool.js';
import { ConfigReader } from './architecture.js';
import { checkGgufAttentionScale, f32, gemmaGgufBase, u32 } from './gemma-gguf.js';
import {
  gemmaFamily,
  gemmaSlidingWindows,
  optionalNumber,
  readGemmaBase,
  type GemmaConfig,
  type GemmaDefaults,
} from './gemma.js';
import { readRope, type RopeConfig } from './rope.js';

const DEFAULTS: GemmaDefaults = {
  modelType: 'gemma3_text', vocabSize: 262208, hiddenSize: 2304, intermediateSize: 9216, numLayers: 26, numHeads: 8, numKvHeads: 4,
  maxPositions: 131072, activationKey: 'hidden_activation', activations: { gelu_pytorch_tanh: 'tanh', gelu: 'none' },
};

/** The rope of one layer type, as Gemma3TextConfig.convert_rope_params_to_dict reads it. */
function layerRope(raw: Record<string, unknown>, type: 'full_attention' | 'sliding_attention'): RopeConfig {
  const r = new ConfigReader(raw, 'gemma3_text config.json');
  const legacyTheta = type === 'full_attention' ? r.number('rope_theta', 1e6) : r.number('rope_local_base_freq', 1e4);
  const params = raw.rope_parameters as Record<string, unknown> | null | undefined;
  if (params && typeof params === 'object' && params[type] && typeof params[type] === 'object') return readRope(raw, 'gemma3_text', legacyTheta, type);
  // Legacy: rope_scaling applies to the global layers only.
  if (type === 'full_attention') return readRope({ rope_theta: legacyTheta, rope_scaling: raw.rope_scaling }, 'gemma3_text', legacyTheta);
  return { ropeTheta: legacyTheta, ropeScaling: { type: 'none' } };
}

/** Gemma3TextConfig's sliding_window_pattern: every 6th layer full by default. */
const slidingPattern = (raw: Record<string, unknown>) => new ConfigReader(raw, 'gemma3_text config.json').int('sliding_window_pattern', 6);

export function normalizeGemma3TextConfig(raw: Record<string, unknown>): GemmaConfig {
  const where = 'gemma3_text config.json';
  const base = readGemmaBase(raw, DEFAULTS);
  const r = new ConfigReader(raw, where);
  r.divisible('hidden_size', base.hiddenSize, base.numHeads, 'num_attention_heads');
  return {
    ...base,
    queryPreAttnScalar: r.number('query_pre_attn_scalar', 256),
    attnSoftcap: null,
    finalSoftcap: optionalNumber(raw, 'final_logit_softcapping', null, where),
    slidingWindows: gemmaSlidingWindows(raw, base.numLayers, slidingPattern(raw), 4096, where),
    sandwichNorms: true,
    qkNorm: true,
    ropeFull: layerRope(raw, 'full_attention'),
    ropeSliding: layerRope(raw, 'sliding_attention'),
  };
}

/** llama.cpp's gemma3 graph: 5 sliding layers to 1 global from layer 0, no logit soft-cap, unscaled local rope. */
function ggufHyperparameters(cfg: GemmaConfig) {
  const kv = gemmaGgufBase(cfg, { untiedHead: true });
  const no = (what: string) => new UserError(`--export_format gguf: llama.cpp's gemma3 graph has ${what}; use onnx or safetensors`);
  if (cfg.finalSoftcap !== null) throw no('no final logit soft-capping with sliding windows (final_logit_softcapping)');
  if (cfg.ropeSliding.ropeScaling.type !== 'none') throw no('no rope scaling on the sliding layers');
  const window = cfg.slidingWindows.find((w) => w !== null);
  if (window == null || cfg.slidingWindows.some((w, i) => (w !== null) !== (i % 6 < 5))) throw no('five sliding layers to each global one and no other pattern (layer_types)');
  checkGgufAttentionScale(cfg, 62);
  kv.push(['rope.freq_base_swa', f32(cfg.ropeSliding.ropeTheta)], ['attention.sliding_window', u32(window)]);
  return kv;
}

export const gemma3_text = gemmaFamily({
  modelType: 'gemma3_text',
  hfClass: 'Gemma3ForCausalLM',
  normalizeConfig: normalizeGemma3TextConfig,
  // gemma-3-1b: 1152 → 6912, gemma-3-4b: 2560 → 10240.
  intermediateFor: (hidden) => 4 * hidden,
  headDimKeys: ['query_pre_attn_scalar'],
  slidingPattern,
  freshConfig: (cur) => ({
    head_dim: cur.headDim, query_pre_attn_scalar: cur.headDim, hidden_activation: 'gelu_pytorch_tanh', rms_norm_eps: 1e-6,
    rope_theta: 1e6, rope_local_base_freq: 1e4, attention_bias: false, sliding_window: 512,
  }),
  ggufArch: 'gemma3',
  ggufHyperparameters,
});
