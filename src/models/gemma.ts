/**
 * Gemma (model_type "gemma") and the pieces Gemma 2 and Gemma 3 share with it: RMSNorms whose
 * scale is 1 + γ (γ stored as an offset, zeros at init), token embeddings multiplied by
 * √hidden_size, a GeGLU MLP (gelu_pytorch_tanh), head_dim from the config (not hidden/heads),
 * rotary positions, a head tied to the embeddings. gemma2.ts and gemma3_text.ts switch on the
 * rest through the config: norms after attention and MLP too, score and logit soft-capping,
 * sliding windows per layer, q/k norms, a second rope base for the sliding layers.
 * Weights keep Hugging Face names; Linear weights are [out, in]. The GGUF names and the refusals
 * of what llama.cpp's Gemma graphs cannot run are in gemma-gguf.ts.
 */
import type { Random } from '../core/random.js';
import { UserError } from '../core/tool.js';
import type { GgufValue } from '../export/gguf-format.js';
import { gemmaGgufBase, gemmaGgufSpec } from './gemma-gguf.js';
import type { Graph, Value } from '../graph/builder.js';
import {
  appendCache,
  applyRotary,
  attention,
  lastPosition,
  linear,
  rmsNormOnePlus,
  rotaryTables,
  type RotaryTables,
  softcap,
  splitHeads,
  windowedBiases,
} from '../graph/layers.js';
import * as op from '../graph/ops.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './float16.js';
import { layerWindows, resizeLayerList } from './layer-types.js';
import { inverseFrequencies, readRope, type RopeConfig } from './rope.js';
import type { Weights } from './tensor.js';
import * as ref from './reference.js';
import {
  type Architecture,
  ConfigReader,
  type DecoderConfig,
  type DecoderInputs,
  type DecoderOutputs,
  type ForwardOptions,
  ParamList,
  type ParamSpec,
  type ReshapeSpec,
  standardInit,
} from './architecture.js';

export interface GemmaConfig extends DecoderConfig {
  intermediateSize: number;
  rmsNormEps: number;
  /** The MLP gate's GELU: 'tanh' for gelu_pytorch_tanh, 'none' for exact erf GELU. */
  geluApproximate: 'tanh' | 'none';
  /** Biases on q/k/v/o (attention_bias). */
  attentionBias: boolean;
  /** The embedding row zeroed at init (pad_token_id, 0 by default), if any. */
  padTokenId: number | null;
  /** √hidden_size as transformers applies it: rounded to the checkpoint's dtype. */
  embedScale: number;
  /** q is scaled by queryPreAttnScalar^−½ (Gemma: head_dim). */
  queryPreAttnScalar: number;
  /** cap·tanh(s/cap) of the attention scores (Gemma 2), or null. */
  attnSoftcap: number | null;
  /** cap·tanh(z/cap) of the logits (Gemma 2 / 3), or null. */
  finalSoftcap: number | null;
  /** Per layer: the sliding attention window, or null for full causal attention. */
  slidingWindows: (number | null)[];
  /** Gemma 2 / 3: RMSNorm after attention and after the MLP as well as before each. */
  sandwichNorms: boolean;
  /** Gemma 3: RMSNorm (1 + γ) of each query and key head before rope. */
  qkNorm: boolean;
  /** Rope of the full-attention layers, and of the sliding ones (Gemma 3's local base). */
  ropeFull: RopeConfig;
  ropeSliding: RopeConfig;
}

/** transformers' config-class defaults of one Gemma generation. */
export interface GemmaDefaults {
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  maxPositions: number;
  /** The activation's key (Gemma: hidden_act, Gemma 2/3: hidden_activation) and the names it takes. */
  activationKey: string;
  activations: Record<string, 'tanh' | 'none'>;
}

/** √hidden rounded as `embed_scale.to(weight.dtype)` does: to bf16 / fp16 for such checkpoints (55.5 for 3072 in bf16). */
export function gemmaEmbedScale(hidden: number, dtype: unknown): number {
  const v = Float32Array.of(Math.sqrt(hidden));
  const half = new Uint16Array(1);
  if (dtype === 'bfloat16') {
    f32ToBf16(v, half);
    bf16ToF32(half, v);
  } else if (dtype === 'float16') {
    f32ToF16(v, half);
    f16ToF32(half, v);
  }
  return v[0];
}

/** The config fields every Gemma generation reads the same way; the caller adds the rest. */
export function readGemmaBase(raw: Record<string, unknown>, d: GemmaDefaults) {
  const where = `${d.modelType} config.json`;
  const r = new ConfigReader(raw, where);
  if (raw.use_bidirectional_attention === true) {
    throw new UserError(`${where}: use_bidirectional_attention (an embedding model) is not supported; set it to false`);
  }
  const hiddenSize = r.int('hidden_size', d.hiddenSize);
  const numHeads = r.int('num_attention_heads', d.numHeads);
  const numKvHeads = r.int('num_key_value_heads', d.numKvHeads);
  r.divisible('num_attention_heads', numHeads, numKvHeads, 'num_key_value_heads');
  const headDim = r.int('head_dim', 256);
  if (headDim % 2 !== 0) throw new UserError(`${where}: head_dim (${headDim}) must be even for rotary embeddings`);
  const act = String(raw[d.activationKey] ?? 'gelu_pytorch_tanh');
  const geluApproximate = d.activations[act];
  if (!geluApproximate) throw new UserError(`${where}: ${d.activationKey} "${act}" is not supported; use one of ${Object.keys(d.activations).join(', ')}`);
  // transformers' Gemma configs default pad 0, eos 1, bos 2; an explicit null means none.
  const id = (key: string, fallback: number) => (raw[key] === undefined ? fallback : r.tokenIds(key));
  const pad = id('pad_token_id', 0);
  return {
    modelType: d.modelType,
    vocabSize: r.int('vocab_size', d.vocabSize),
    hiddenSize,
    numLayers: r.int('num_hidden_layers', d.numLayers),
    numHeads,
    numKvHeads,
    headDim,
    maxPositions: r.int('max_position_embeddings', d.maxPositions),
    tieWordEmbeddings: r.bool('tie_word_embeddings', true),
    initializerRange: r.number('initializer_range', 0.02),
    bosTokenId: id('bos_token_id', 2) as number | null,
    eosTokenId: id('eos_token_id', 1),
    intermediateSize: r.int('intermediate_size', d.intermediateSize),
    rmsNormEps: r.number('rms_norm_eps', 1e-6),
    geluApproximate,
    attentionBias: r.bool('attention_bias', false),
    padTokenId: typeof pad === 'number' ? pad : null,
    embedScale: gemmaEmbedScale(hiddenSize, raw.dtype ?? raw.torch_dtype),
  };
}

/** layer_types as Gemma2Config / Gemma3TextConfig derive them: every `pattern`-th layer full, the others sliding. */
export function gemmaLayerTypes(numLayers: number, pattern: number): string[] {
  return Array.from({ length: numLayers }, (_, i) => ((i + 1) % pattern ? 'sliding_attention' : 'full_attention'));
}

/** Each layer's window from layer_types, or where the config has none from `pattern` (sliding_window defaulting to `defaultWindow`). */
export function gemmaSlidingWindows(raw: Record<string, unknown>, numLayers: number, pattern: number, defaultWindow: number, where: string): (number | null)[] {
  const types = Array.isArray(raw.layer_types) ? raw.layer_types : gemmaLayerTypes(numLayers, pattern);
  return layerWindows(types, raw.sliding_window === undefined ? defaultWindow : raw.sliding_window, numLayers, where);
}

/** An optional positive number whose absence means `fallback` and whose null means none (the soft-caps). */
export function optionalNumber(raw: Record<string, unknown>, key: string, fallback: number | null, where: string): number | null {
  if (raw[key] === undefined) return fallback;
  return raw[key] === null ? null : new ConfigReader(raw, where).number(key);
}

export const GEMMA_DEFAULTS: GemmaDefaults = {
  modelType: 'gemma', vocabSize: 256000, hiddenSize: 3072, intermediateSize: 24576, numLayers: 28, numHeads: 16, numKvHeads: 16,
  maxPositions: 8192, activationKey: 'hidden_act',
  // GemmaConfig turns the legacy "gelu" of the released checkpoints into gelu_pytorch_tanh.
  activations: { gelu_pytorch_tanh: 'tanh', gelu: 'tanh' },
};

export function normalizeGemmaConfig(raw: Record<string, unknown>): GemmaConfig {
  const base = readGemmaBase(raw, GEMMA_DEFAULTS);
  const rope = readRope(raw, 'gemma', 10000);
  return {
    ...base, queryPreAttnScalar: base.headDim, attnSoftcap: null, finalSoftcap: null,
    slidingWindows: Array<null>(base.numLayers).fill(null), sandwichNorms: false, qkNorm: false, ropeFull: rope, ropeSliding: rope,
  };
}

export function gemmaParameters(cfg: GemmaConfig): ParamSpec[] {
  const C = cfg.hiddenSize;
  const D = cfg.headDim;
  const F = cfg.intermediateSize;
  const params = new ParamList().add({ name: 'model.embed_tokens.weight', shape: [cfg.vocabSize, C], role: 'token_embedding' });
  const norm = (name: string, dim = C) => params.norm(name, dim, false);
  const lin = (name: string, out: number, inp: number, role: 'attention' | 'mlp', bias: boolean) => params.linear(name, out, inp, role, { bias });
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `model.layers.${i}`;
    norm(`${p}.input_layernorm`);
    lin(`${p}.self_attn.q_proj`, cfg.numHeads * D, C, 'attention', cfg.attentionBias);
    lin(`${p}.self_attn.k_proj`, cfg.numKvHeads * D, C, 'attention', cfg.attentionBias);
    lin(`${p}.self_attn.v_proj`, cfg.numKvHeads * D, C, 'attention', cfg.attentionBias);
    lin(`${p}.self_attn.o_proj`, C, cfg.numHeads * D, 'attention', cfg.attentionBias);
    if (cfg.qkNorm) {
      norm(`${p}.self_attn.q_norm`, D);
      norm(`${p}.self_attn.k_norm`, D);
    }
    norm(`${p}.post_attention_layernorm`);
    if (cfg.sandwichNorms) {
      norm(`${p}.pre_feedforward_layernorm`);
      norm(`${p}.post_feedforward_layernorm`);
    }
    lin(`${p}.mlp.gate_proj`, F, C, 'mlp', false);
    lin(`${p}.mlp.up_proj`, F, C, 'mlp', false);
    lin(`${p}.mlp.down_proj`, C, F, 'mlp', false);
  }
  return norm('model.norm').head('lm_head.weight', cfg.vocabSize, C, cfg.tieWordEmbeddings).specs;
}

/**
 * transformers' Gemma*PreTrainedModel._init_weights: Linear and Embedding weights
 * normal(0, initializer_range), biases 0, every RMSNorm γ 0 (a scale of 1), the padding row 0.
 */
export function initGemma(cfg: GemmaConfig, rng: Random): Weights {
  // Gemma's norms scale by (1 + w): w starts at 0.
  return standardInit(gemmaParameters(cfg), rng, { std: cfg.initializerRange, padTokenId: cfg.padTokenId, normScale: 0 });
}

const inverseFreqs = (rope: RopeConfig, cfg: GemmaConfig) => inverseFrequencies(rope.ropeTheta, rope.ropeScaling, cfg.headDim);
const sameRope = (a: RopeConfig, b: RopeConfig) => JSON.stringify(a) === JSON.stringify(b);

type Param = (name: string) => Value;

function selfAttention(g: Graph, i: number, cfg: GemmaConfig, x: Value, io: DecoderInputs, bias: Value, rope: RotaryTables, param: Param) {
  const P = `/model/layers.${i}/self_attn`;
  const n = `model.layers.${i}.self_attn`;
  const proj = (name: string, input: Value) =>
    linear(g, `${P}/${name}`, input, param(`${n}.${name}.weight`), cfg.attentionBias ? param(`${n}.${name}.bias`) : undefined);
  const { numHeads: H, numKvHeads: Hkv, headDim: D } = cfg;
  let q = splitHeads(g, `${P}/q`, proj('q_proj', x), H, D);
  let k = splitHeads(g, `${P}/k`, proj('k_proj', x), Hkv, D);
  if (cfg.qkNorm) {
    q = rmsNormOnePlus(g, `${P}/q_norm`, q, param(`${n}.q_norm.weight`), cfg.rmsNormEps);
    k = rmsNormOnePlus(g, `${P}/k_norm`, k, param(`${n}.k_norm.weight`), cfg.rmsNormEps);
  }
  q = applyRotary(g, `${P}/q_rotary`, q, rope);
  k = applyRotary(g, `${P}/k_rotary`, k, rope);
  const v = splitHeads(g, `${P}/v`, proj('v_proj', x), Hkv, D);
  const key = appendCache(g, `${P}/present_key/Concat`, io.past[i].key, k);
  const value = appendCache(g, `${P}/present_value/Concat`, io.past[i].value, v);
  const ctx = attention(g, P, q, key, value, bias, cfg, { scale: cfg.queryPreAttnScalar ** -0.5, softcap: cfg.attnSoftcap });
  return { out: proj('o_proj', ctx), key, value };
}

/** GeGLU: down(gelu(gate(x)) · up(x)). */
function mlp(g: Graph, i: number, cfg: GemmaConfig, x: Value, param: Param): Value {
  const P = `/model/layers.${i}/mlp`;
  const n = `model.layers.${i}.mlp`;
  const proj = (name: string, input: Value) => linear(g, `${P}/${name}`, input, param(`${n}.${name}.weight`));
  const act = op.gelu(g, `${P}/act/Gelu`, proj('gate_proj', x), cfg.geluApproximate);
  return proj('down_proj', op.mul(g, `${P}/gate_up/Mul`, act, proj('up_proj', x)));
}

export function gemmaForward(g: Graph, cfg: GemmaConfig, io: DecoderInputs, options: ForwardOptions): DecoderOutputs {
  const shapes = new Map(gemmaParameters(cfg).map((p) => [p.name, p.shape]));
  const param = (name: string) => g.param(name, shapes.get(name)!);
  const norm = (prefix: string, x: Value, name: string) => rmsNormOnePlus(g, prefix, x, param(`${name}.weight`), cfg.rmsNormEps);
  const embed = param('model.embed_tokens.weight');
  const gathered = op.gather(g, '/model/embed_tokens/Gather', embed, io.inputIds);
  let h = op.mul(g, '/model/embed_tokens/scale/Mul', gathered, g.float32(cfg.embedScale));
  const fullRope = rotaryTables(g, '/model/rotary_emb', io.positionIds, inverseFreqs(cfg.ropeFull, cfg));
  const slidingRope = sameRope(cfg.ropeFull, cfg.ropeSliding)
    ? fullRope
    : rotaryTables(g, '/model/rotary_emb/sliding_attention', io.positionIds, inverseFreqs(cfg.ropeSliding, cfg));
  const biasFor = windowedBiases(g, '/model/sliding_mask', io.inputIds, io.attentionMask, io.attentionBias);
  const present: DecoderOutputs['present'] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    const L = `/model/layers.${i}`;
    const n = `model.layers.${i}`;
    const window = cfg.slidingWindows[i];
    const a = norm(`${L}/input_layernorm`, h, `${n}.input_layernorm`);
    const attn = selfAttention(g, i, cfg, a, io, biasFor(window), window === null ? fullRope : slidingRope, param);
    const attnOut = cfg.sandwichNorms ? norm(`${L}/post_attention_layernorm`, attn.out, `${n}.post_attention_layernorm`) : attn.out;
    h = op.add(g, `${L}/self_attn/residual/Add`, h, attnOut);
    const preMlp = cfg.sandwichNorms ? 'pre_feedforward_layernorm' : 'post_attention_layernorm';
    let m = mlp(g, i, cfg, norm(`${L}/${preMlp}`, h, `${n}.${preMlp}`), param);
    if (cfg.sandwichNorms) m = norm(`${L}/post_feedforward_layernorm`, m, `${n}.post_feedforward_layernorm`);
    h = op.add(g, `${L}/mlp/residual/Add`, h, m);
    present.push({ key: attn.key, value: attn.value });
  }
  if (options.logits === 'last') h = lastPosition(g, '/model/last_position', h);
  h = norm('/model/norm', h, 'model.norm');
  const logits = linear(g, '/lm_head', h, cfg.tieWordEmbeddings ? embed : param('lm_head.weight'));
  return { logits: cfg.finalSoftcap ? softcap(g, '/lm_head/softcap', logits, cfg.finalSoftcap) : logits, present };
}

/** The plain-TypeScript forward the graph is checked against. */
export function gemmaReference(cfg: GemmaConfig, w: Weights, ids: number[]): Float32Array {
  const { hiddenSize: C, numHeads: H, numKvHeads: Hkv, headDim: D, intermediateSize: F, vocabSize: V } = cfg;
  const full = inverseFreqs(cfg.ropeFull, cfg);
  const sliding = inverseFreqs(cfg.ropeSliding, cfg);
  const embed = ref.get(w, 'model.embed_tokens.weight');
  const gelu = cfg.geluApproximate === 'tanh' ? ref.geluTanh : ref.geluExact;
  const norm = (x: ref.Vec, name: string) => ref.rmsNormOnePlus(x, ref.get(w, `${name}.weight`), cfg.rmsNormEps);
  /** Applies a per-head norm to each of `heads` slices of x. */
  const headNorm = (x: ref.Vec, heads: number, name: string) => {
    const out = new Float64Array(x.length);
    for (let h = 0; h < heads; h++) out.set(norm(x.subarray(h * D, (h + 1) * D), name), h * D);
    return out;
  };
  let hs: ref.Vec[] = ids.map((id) => Float64Array.from(embed.subarray(id * C, (id + 1) * C), (v) => v * cfg.embedScale));
  for (let i = 0; i < cfg.numLayers; i++) {
    const n = `model.layers.${i}`;
    const lin = (x: ref.Vec, name: string, inDim: number, outDim: number) =>
      ref.matVecOutIn(x, ref.get(w, `${n}.${name}.weight`), inDim, outDim, w.get(`${n}.${name}.bias`)?.data);
    const invFreq = cfg.slidingWindows[i] === null ? full : sliding;
    const normed = hs.map((h) => norm(h, `${n}.input_layernorm`));
    const q = normed.map((x, t) => {
      const y = lin(x, 'self_attn.q_proj', C, H * D);
      return ref.rotate(cfg.qkNorm ? headNorm(y, H, `${n}.self_attn.q_norm`) : y, H, D, t, invFreq);
    });
    const k = normed.map((x, t) => {
      const y = lin(x, 'self_attn.k_proj', C, Hkv * D);
      return ref.rotate(cfg.qkNorm ? headNorm(y, Hkv, `${n}.self_attn.k_norm`) : y, Hkv, D, t, invFreq);
    });
    const v = normed.map((x) => lin(x, 'self_attn.v_proj', C, Hkv * D));
    const scale = cfg.queryPreAttnScalar ** -0.5;
    const ctx = ref.causalAttention(q, k, v, H, Hkv, D, { scale, window: cfg.slidingWindows[i], softcap: cfg.attnSoftcap });
    hs = hs.map((h, t) => {
      let a = lin(ctx[t], 'self_attn.o_proj', H * D, C);
      if (cfg.sandwichNorms) a = norm(a, `${n}.post_attention_layernorm`);
      const h1 = h.map((x, c) => x + a[c]);
      const m = norm(h1, `${n}.${cfg.sandwichNorms ? 'pre_feedforward_layernorm' : 'post_attention_layernorm'}`);
      const up = lin(m, 'mlp.up_proj', C, F);
      let out = lin(lin(m, 'mlp.gate_proj', C, F).map((z, j) => gelu(z) * up[j]), 'mlp.down_proj', F, C);
      if (cfg.sandwichNorms) out = norm(out, `${n}.post_feedforward_layernorm`);
      return h1.map((x, c) => x + out[c]);
    });
  }
  const final = hs.map((h) => norm(h, 'model.norm'));
  const logits = ref.logitsFrom(final, cfg.tieWordEmbeddings ? embed : ref.get(w, 'lm_head.weight'), V, C);
  return cfg.finalSoftcap ? ref.softcap(logits, cfg.finalSoftcap) : logits;
}

/** What each generation's file adds to the shared Gemma implementation. */
export interface GemmaFamily {
  modelType: string;
  hfClass: string;
  normalizeConfig(raw: Record<string, unknown>): GemmaConfig;
  intermediateFor(hidden: number): number;
  freshConfig(cur: DecoderConfig): Record<string, unknown>;
  headDimKeys?: readonly string[];
  /** The config's sliding pattern (every n-th layer full) for a config without layer_types; absent: no sliding layers. */
  slidingPattern?(raw: Record<string, unknown>): number;
  ggufArch: string;
  ggufHyperparameters(cfg: GemmaConfig): [string, GgufValue][];
}

/** An architecture for one Gemma generation. */
export function gemmaFamily(f: GemmaFamily): Architecture<GemmaConfig> {
  const reshape: ReshapeSpec = {
    keys: {
      layers: 'num_hidden_layers', hidden: 'hidden_size', heads: 'num_attention_heads',
      kvHeads: 'num_key_value_heads', inner: 'intermediate_size', positions: 'max_position_embeddings',
    },
    intermediateFor: f.intermediateFor,
    freshConfig: f.freshConfig,
    headDimKeys: f.headDimKeys,
    resized: (out, from, to) => {
      const pattern = f.slidingPattern;
      if (!pattern || !Array.isArray(out.layer_types)) return;
      out.layer_types = resizeLayerList(out.layer_types, from.numLayers, to.numLayers, (n) => gemmaLayerTypes(n, pattern(out)));
    },
  };
  return {
    modelType: f.modelType,
    hfClass: f.hfClass,
    normalizeConfig: f.normalizeConfig,
    parameters: gemmaParameters,
    init: initGemma,
    forward: gemmaForward,
    reference: gemmaReference,
    reshape,
    gguf: gemmaGgufSpec(f.ggufArch, f.ggufArch !== 'gemma', f.ggufHyperparameters),
  };
}

export const gemma = gemmaFamily({
  modelType: 'gemma',
  hfClass: 'GemmaForCausalLM',
  normalizeConfig: normalizeGemmaConfig,
  // gemma-2b: 2048 → 16384, gemma-7b: 3072 → 24576.
  intermediateFor: (hidden) => 8 * hidden,
  // head_dim is written: Gemma's default (256) does not follow from hidden/heads.
  freshConfig: (cur) => ({ head_dim: cur.headDim, hidden_act: 'gelu_pytorch_tanh', rms_norm_eps: 1e-6, rope_theta: 10000, attention_bias: false }),
  ggufArch: 'gemma',
  ggufHyperparameters: (cfg) => gemmaGgufBase(cfg, { untiedHead: false }),
});
