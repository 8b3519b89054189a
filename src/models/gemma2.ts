/**
 * Gemma 2 (model_type "gemma2"): Gemma with RMSNorms after attention and after the MLP as well
 * as before them, attention scores and final logits soft-capped (cap·tanh(x/cap)), sliding-window
 * attention on alternate layers (layer_types; by default every even layer slides) and q scaled
 * by query_pre_attn_scalar^−½. The shared implementation is gemma.ts.
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
import { readRope } from './rope.js';

const DEFAULTS: GemmaDefaults = {
  modelType: 'gemma2', vocabSize: 256000, hiddenSize: 2304, intermediateSize: 9216, numLayers: 26, numHeads: 8, numKvHeads: 4,
  maxPositions: 8192, activationKey: 'hidden_activation', activations: { gelu_pytorch_tanh: 'tanh', gelu: 'none' },
};

/** Gemma2Config: every 2nd layer full, the others sliding. */
const PATTERN = 2;

export function normalizeGemma2Config(raw: Record<string, unknown>): GemmaConfig {
  const where = 'gemma2 config.json';
  const base = readGemmaBase(raw, DEFAULTS);
  new ConfigReader(raw, where).divisible('hidden_size', base.hiddenSize, base.numHeads, 'num_attention_heads');
  const rope = readRope(raw, 'gemma2', 10000);
  return {
    ...base,
    queryPreAttnScalar: new ConfigReader(raw, where).number('query_pre_attn_scalar', 256),
    attnSoftcap: optionalNumber(raw, 'attn_logit_softcapping', 50, where),
    finalSoftcap: optionalNumber(raw, 'final_logit_softcapping', 30, where),
    slidingWindows: gemmaSlidingWindows(raw, base.numLayers, PATTERN, 4096, where),
    sandwichNorms: true,
    qkNorm: false,
    ropeFull: rope,
    ropeSliding: rope,
  };
}

/** llama.cpp's gemma2 graph: both soft-caps always on, layers alternating sliding / full from layer 0. */
function ggufHyperparameters(cfg: GemmaConfig) {
  const kv = gemmaGgufBase(cfg, { untiedHead: false });
  if (cfg.attnSoftcap === null || cfg.finalSoftcap === null) {
    throw new UserError('--export_format gguf: llama.cpp\'s gemma2 graph always soft-caps scores and logits; set attn_logit_softcapping and final_logit_softcapping, or use onnx or safetensors');
  }
  const window = cfg.slidingWindows.find((w) => w !== null);
  if (window == null || cfg.slidingWindows.some((w, i) => (w !== null) !== (i % 2 === 0))) {
    throw new UserError('--export_format gguf: llama.cpp\'s gemma2 graph slides every even layer and no other (layer_types); use onnx or safetensors');
  }
  checkGgufAttentionScale(cfg, 46);
  kv.push(['attn_logit_softcapping', f32(cfg.attnSoftcap)], ['final_logit_softcapping', f32(cfg.finalSoftcap)], ['attention.sliding_window', u32(window)]);
  return kv;
}

export const gemma2 = gemmaFamily({
  modelType: 'gemma2',
  hfClass: 'Gemma2ForCausalLM',
  normalizeConfig: normalizeGemma2Config,
  // gemma-2-2b: 2304 → 9216, gemma-2-9b: 3584 → 14336.
  intermediateFor: (hidden) => 4 * hidden,
  headDimKeys: ['query_pre_attn_scalar'],
  slidingPattern: () => PATTERN,
  freshConfig: (cur) => ({
    head_dim: cur.headDim, query_pre_attn_scalar: cur.headDim, hidden_activation: 'gelu_pytorch_tanh', rms_norm_eps: 1e-6,
    rope_theta: 10000, attention_bias: false, sliding_window: 4096, attn_logit_softcapping: 50, final_logit_softcapping: 30,
  }),
  ggufArch: 'gemma2',
  ggufHyperparameters,
});
