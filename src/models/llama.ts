/**
 * LLaMA (model_type "llama", also SmolLM and TinyLlama): RMSNorm pre-norm blocks, rotary
 * positions (rope_theta, optional llama3 / linear scaling), grouped-query attention, SwiGLU
 * MLP, tied or untied head. mistral.ts and qwen2.ts reuse it with their own config defaults;
 * qwen3, olmo2, granite and smollm3 also switch on a variant of the block (q/k norms,
 * post-norms, scalar multipliers, layers without rope: the optional LlamaConfig fields).
 * Weights keep Hugging Face names; Linear weights are [out, in]. The GGUF names, hyperparameters
 * and q/k row order llama.cpp needs are in llama-gguf.ts.
 */
import type { Random } from '../core/random.js';
import { UserError } from '../core/tool.js';
import type { Graph, Value } from '../graph/builder.js';
import {
  appendCache,
  applyRotary,
  attention,
  attentionBias,
  lastPosition,
  linear,
  rmsNorm,
  rotaryTables,
  splitHeads,
  type RotaryTables,
} from '../graph/layers.js';
import * as op from '../graph/ops.js';
import { layerWindows, resizeLayerList, slidingWindowOf } from './layer-types.js';
import { llamaGgufSpec } from './llama-gguf.js';
import { inverseFrequencies, readRope, type RopeConfig } from './rope.js';
import type { Weights } from './tensor.js';
import * as ref from './reference.js';
import {
  ConfigReader,
  standardInit,
  type Architecture,
  type DecoderConfig,
  type DecoderInputs,
  type DecoderOutputs,
  type ForwardOptions,
  type ParamSpec,
} from './architecture.js';

export interface LlamaConfig extends DecoderConfig, RopeConfig {
  intermediateSize: number;
  rmsNormEps: number;
  /** Biases on q/k/v projections (attention_bias; always on for qwen2). */
  qkvBias: boolean;
  /** Bias on o_proj (attention_bias; off for qwen2). */
  oBias: boolean;
  mlpBias: boolean;
  /** The embedding row zeroed at init (pad_token_id), if any. */
  padTokenId: number | null;
  /** Per layer: the sliding attention window, or null for full causal attention. */
  slidingWindows: (number | null)[];
  // Variants of the LLaMA block that other families switch on; absent, the block is LLaMA's.
  /** RMSNorm of q and k before rope: per head over head_dim (qwen3) or over the whole projection (olmo2). */
  qkNorm?: 'head' | 'projection';
  /** Norms on the attention and MLP outputs instead of their inputs (olmo2's post_attention/post_feedforward_layernorm). */
  postNorms?: boolean;
  /** Per layer: whether it rotates q/k (smollm3's NoPE layers say false); absent, every layer does. */
  ropeLayers?: boolean[];
  /** Granite's scalars: embeddings ×embedding, sublayer outputs ×residual, q·kᵀ ×attention (for D^−½), logits ÷logits. */
  multipliers?: { embedding: number; residual: number; attention: number; logits: number };
}

/** Per-model_type defaults (transformers' config classes) and quirks. */
export interface LlamaFamilyDefaults {
  modelType: string;
  /** transformers' class (config.json's architectures). */
  hfClass: string;
  /**
   * llama.cpp's architecture. Its `llama` graph rotates interleaved pairs, so q/k rows are
   * permuted from Hugging Face's rotate-half order; `qwen2` uses NEOX rope, rows as they are.
   */
  gguf: { arch: string; permuteQK: boolean };
  vocabSize: number;
  maxPositions: number;
  rmsNormEps: number;
  ropeTheta: number;
  tieWordEmbeddings: boolean;
  /** qwen2: q/k/v always carry biases, o_proj never. */
  qkvBiasAlways?: boolean;
  /**
   * Which layers slide when layer_types is absent (transformers < 5) or ignored: mistral's
   * sliding_window applies to every layer; qwen2's only with use_sliding_window, from
   * max_window_layers on. Absent: the family has no sliding window.
   */
  legacySliding?: (raw: Record<string, unknown>, layer: number) => boolean;
  /**
   * Each layer's kind comes from layer_types where the config has it (Qwen2, Qwen3, SmolLM3, and
   * Mistral, which transformers then loads as Ministral). Absent, the list is ignored, as
   * LlamaModel does.
   */
  readsLayerTypes?: boolean;
  /**
   * The key without which config.json's sliding_window is dropped: Qwen2Config and Qwen3Config
   * set sliding_window to None unless use_sliding_window is true, whatever layer_types says.
   */
  slidingSwitch?: string;
}

export const LLAMA_DEFAULTS: LlamaFamilyDefaults = {
  modelType: 'llama', hfClass: 'LlamaForCausalLM', gguf: { arch: 'llama', permuteQK: true }, vocabSize: 32000, maxPositions: 2048, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: false,
};

/** Each layer's window: config.json's layer_types where the family reads it (transformers ≥ 5), else the family's legacy rule. */
export function slidingWindows(raw: Record<string, unknown>, numLayers: number, d: LlamaFamilyDefaults, where: string): (number | null)[] {
  if (d.readsLayerTypes && Array.isArray(raw.layer_types)) {
    const switchedOff = d.slidingSwitch !== undefined && raw[d.slidingSwitch] !== true;
    if (switchedOff && raw.layer_types.includes('sliding_attention')) {
      throw new UserError(
        `${where}: layer_types has sliding_attention layers but "${d.slidingSwitch}" is not true, so transformers drops sliding_window and cannot run them; set "${d.slidingSwitch}": true or make them full_attention`,
      );
    }
    return layerWindows(raw.layer_types, raw.sliding_window, numLayers, where);
  }
  return derivedLayerTypes(raw, numLayers, d).map((t) => (t === 'sliding_attention' ? slidingWindowOf(raw.sliding_window, where) : null));
}

/** layer_types as the family's config class derives it from the other keys (what transformers ≥ 5 saves). */
export function derivedLayerTypes(raw: Record<string, unknown>, numLayers: number, d: LlamaFamilyDefaults): string[] {
  return Array.from({ length: numLayers }, (_, i) => (raw.sliding_window != null && d.legacySliding?.(raw, i) ? 'sliding_attention' : 'full_attention'));
}

export function normalizeLlamaConfig(raw: Record<string, unknown>, d: LlamaFamilyDefaults = LLAMA_DEFAULTS): LlamaConfig {
  const r = new ConfigReader(raw, `${d.modelType} config.json`);
  const hiddenSize = r.int('hidden_size', 4096);
  const numHeads = r.int('num_attention_heads', 32);
  const numKvHeads = r.int('num_key_value_heads', numHeads);
  r.divisible('num_attention_heads', numHeads, numKvHeads, 'num_key_value_heads');
  if (!r.has('head_dim')) r.divisible('hidden_size', hiddenSize, numHeads, 'num_attention_heads');
  const headDim = r.int('head_dim', hiddenSize / numHeads);
  if (headDim % 2 !== 0) throw new UserError(`${d.modelType} config.json: head_dim (${headDim}) must be even for rotary embeddings`);
  const act = String(raw.hidden_act ?? 'silu');
  if (act !== 'silu') throw new UserError(`${d.modelType} config.json: hidden_act "${act}" is not supported; use silu`);
  const attentionBias = r.bool('attention_bias', false);
  const pad = r.tokenIds('pad_token_id');
  const numLayers = r.int('num_hidden_layers', 32);
  return {
    modelType: d.modelType,
    vocabSize: r.int('vocab_size', d.vocabSize),
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    maxPositions: r.int('max_position_embeddings', d.maxPositions),
    intermediateSize: r.int('intermediate_size', 11008),
    rmsNormEps: r.number('rms_norm_eps', d.rmsNormEps),
    ...readRope(raw, d.modelType, d.ropeTheta),
    qkvBias: d.qkvBiasAlways ? true : attentionBias,
    oBias: d.qkvBiasAlways ? false : attentionBias,
    mlpBias: r.bool('mlp_bias', false),
    tieWordEmbeddings: r.bool('tie_word_embeddings', d.tieWordEmbeddings),
    initializerRange: r.number('initializer_range', 0.02),
    bosTokenId: r.tokenIds('bos_token_id') as number | null,
    eosTokenId: r.tokenIds('eos_token_id'),
    padTokenId: typeof pad === 'number' ? pad : null,
    slidingWindows: slidingWindows(raw, numLayers, d, `${d.modelType} config.json`),
  };
}

/** RoPE inverse frequencies of a LLaMA-layout config (rotary over the whole head). */
export function ropeInverseFrequencies(cfg: LlamaConfig): Float32Array {
  return inverseFrequencies(cfg.ropeTheta, cfg.ropeScaling, cfg.headDim);
}

export function llamaParameters(cfg: LlamaConfig): ParamSpec[] {
  const C = cfg.hiddenSize;
  const Q = cfg.numHeads * cfg.headDim;
  const KV = cfg.numKvHeads * cfg.headDim;
  const F = cfg.intermediateSize;
  const params: ParamSpec[] = [{ name: 'model.embed_tokens.weight', shape: [cfg.vocabSize, C], role: 'token_embedding' }];
  const lin = (name: string, out: number, inp: number, role: 'attention' | 'mlp', bias: boolean) => {
    params.push({ name: `${name}.weight`, shape: [out, inp], role });
    if (bias) params.push({ name: `${name}.bias`, shape: [out], role: 'bias' });
  };
  const norm = (name: string, size = C) => params.push({ name: `${name}.weight`, shape: [size], role: 'norm' });
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `model.layers.${i}`;
    if (!cfg.postNorms) norm(`${p}.input_layernorm`);
    lin(`${p}.self_attn.q_proj`, Q, C, 'attention', cfg.qkvBias);
    lin(`${p}.self_attn.k_proj`, KV, C, 'attention', cfg.qkvBias);
    lin(`${p}.self_attn.v_proj`, KV, C, 'attention', cfg.qkvBias);
    lin(`${p}.self_attn.o_proj`, C, Q, 'attention', cfg.oBias);
    if (cfg.qkNorm) {
      const perHead = cfg.qkNorm === 'head';
      norm(`${p}.self_attn.q_norm`, perHead ? cfg.headDim : Q);
      norm(`${p}.self_attn.k_norm`, perHead ? cfg.headDim : KV);
    }
    norm(`${p}.post_attention_layernorm`);
    lin(`${p}.mlp.gate_proj`, F, C, 'mlp', cfg.mlpBias);
    lin(`${p}.mlp.up_proj`, F, C, 'mlp', cfg.mlpBias);
    lin(`${p}.mlp.down_proj`, C, F, 'mlp', cfg.mlpBias);
    if (cfg.postNorms) norm(`${p}.post_feedforward_layernorm`);
  }
  norm('model.norm');
  if (!cfg.tieWordEmbeddings) params.push({ name: 'lm_head.weight', shape: [cfg.vocabSize, C], role: 'head' });
  return params;
}

/**
 * transformers' LlamaPreTrainedModel._init_weights: Linear and Embedding weights
 * normal(0, initializer_range), biases 0, RMSNorm γ = 1, the padding token's embedding row 0.
 */
export function initLlama(cfg: LlamaConfig, rng: Random) {
  return standardInit(llamaParameters(cfg), rng, { std: cfg.initializerRange, padTokenId: cfg.padTokenId });
}

type Param = (name: string) => Value;
const maybe = (param: Param, name: string, present: boolean) => (present ? param(name) : undefined);

function selfAttention(g: Graph, i: number, cfg: LlamaConfig, x: Value, io: DecoderInputs, bias: Value, rope: RotaryTables | null, param: Param) {
  const P = `/model/layers.${i}/self_attn`;
  const n = `model.layers.${i}.self_attn`;
  const proj = (name: string, bias: boolean) => linear(g, `${P}/${name}`, x, param(`${n}.${name}.weight`), maybe(param, `${n}.${name}.bias`, bias));
  const { numHeads: H, numKvHeads: Hkv, headDim: D } = cfg;
  // q/k: project, normalise (qkNorm: over the projection before the head split, or per head after it), rotate.
  const qk = (name: 'q' | 'k', heads: number) => {
    let y = proj(`${name}_proj`, cfg.qkvBias);
    const norm = (t: Value) => rmsNorm(g, `${P}/${name}_norm`, t, param(`${n}.${name}_norm.weight`), cfg.rmsNormEps);
    if (cfg.qkNorm === 'projection') y = norm(y);
    y = splitHeads(g, `${P}/${name}`, y, heads, D);
    if (cfg.qkNorm === 'head') y = norm(y);
    return rope ? applyRotary(g, `${P}/${name}_rotary`, y, rope) : y;
  };
  const q = qk('q', H);
  const k = qk('k', Hkv);
  const v = splitHeads(g, `${P}/v`, proj('v_proj', cfg.qkvBias), Hkv, D);
  const key = appendCache(g, `${P}/present_key/Concat`, io.past[i].key, k);
  const value = appendCache(g, `${P}/present_value/Concat`, io.past[i].value, v);
  const ctx = attention(g, P, q, key, value, bias, cfg, { scale: cfg.multipliers?.attention });
  const out = linear(g, `${P}/o_proj`, ctx, param(`${n}.o_proj.weight`), maybe(param, `${n}.o_proj.bias`, cfg.oBias));
  return { out, key, value };
}

/** SwiGLU: down(silu(gate(x)) · up(x)), silu(z) = z·σ(z). */
function mlp(g: Graph, i: number, cfg: LlamaConfig, x: Value, param: Param): Value {
  const P = `/model/layers.${i}/mlp`;
  const n = `model.layers.${i}.mlp`;
  const proj = (name: string, input: Value) =>
    linear(g, `${P}/${name}`, input, param(`${n}.${name}.weight`), maybe(param, `${n}.${name}.bias`, cfg.mlpBias));
  const gate = proj('gate_proj', x);
  const silu = op.mul(g, `${P}/act/Mul`, gate, op.sigmoid(g, `${P}/act/Sigmoid`, gate));
  return proj('down_proj', op.mul(g, `${P}/gate_up/Mul`, silu, proj('up_proj', x)));
}

export function llamaForward(g: Graph, cfg: LlamaConfig, io: DecoderInputs, options: ForwardOptions): DecoderOutputs {
  const shapes = new Map(llamaParameters(cfg).map((p) => [p.name, p.shape]));
  const param = (name: string) => g.param(name, shapes.get(name)!);
  const embed = param('model.embed_tokens.weight');
  const m = cfg.multipliers;
  let h = op.gather(g, '/model/embed_tokens/Gather', embed, io.inputIds);
  if (m && m.embedding !== 1) h = op.mul(g, '/model/embedding_multiplier/Mul', h, g.float32(m.embedding));
  const rope = cfg.ropeLayers?.every((r) => !r) ? null : rotaryTables(g, '/model/rotary_emb', io.positionIds, ropeInverseFrequencies(cfg));
  const windowBiases = new Map<number, Value>();
  const biasFor = (window: number | null) => {
    if (window === null) return io.attentionBias;
    if (!windowBiases.has(window)) windowBiases.set(window, attentionBias(g, `/model/sliding_mask_${window}`, io.inputIds, io.attentionMask, window));
    return windowBiases.get(window)!;
  };
  const present: DecoderOutputs['present'] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    const L = `/model/layers.${i}`;
    const n = `model.layers.${i}`;
    const norm = (name: string, x: Value) => rmsNorm(g, `${L}/${name}`, x, param(`${n}.${name}.weight`), cfg.rmsNormEps);
    // Pre-norm (LLaMA): h + f(norm(h)); post-norm (OLMo 2): h + norm(f(h)). Granite scales f's output.
    const residual = (name: string, x: Value) => {
      const y = m && m.residual !== 1 ? op.mul(g, `${L}/${name}/residual_multiplier/Mul`, x, g.float32(m.residual)) : x;
      return op.add(g, `${L}/${name}/residual/Add`, h, y);
    };
    const a = cfg.postNorms ? h : norm('input_layernorm', h);
    const attn = selfAttention(g, i, cfg, a, io, biasFor(cfg.slidingWindows[i]), cfg.ropeLayers?.[i] === false ? null : rope, param);
    h = residual('self_attn', cfg.postNorms ? norm('post_attention_layernorm', attn.out) : attn.out);
    const f = mlp(g, i, cfg, cfg.postNorms ? h : norm('post_attention_layernorm', h), param);
    h = residual('mlp', cfg.postNorms ? norm('post_feedforward_layernorm', f) : f);
    present.push({ key: attn.key, value: attn.value });
  }
  if (options.logits === 'last') h = lastPosition(g, '/model/last_position', h);
  h = rmsNorm(g, '/model/norm', h, param('model.norm.weight'), cfg.rmsNormEps);
  const head = cfg.tieWordEmbeddings ? embed : param('lm_head.weight');
  let logits = linear(g, '/lm_head', h, head);
  if (m && m.logits !== 1) logits = op.div(g, '/lm_head/logits_scaling/Div', logits, g.float32(m.logits));
  return { logits, present };
}

/** The plain-TypeScript forward the graph is checked against. */
export function llamaReference(cfg: LlamaConfig, w: Weights, ids: number[]): Float32Array {
  const invFreq = ropeInverseFrequencies(cfg);
  const { hiddenSize: C, numHeads: H, numKvHeads: Hkv, headDim: D, intermediateSize: F, vocabSize: V } = cfg;
  const m = cfg.multipliers ?? { embedding: 1, residual: 1, attention: 1 / Math.sqrt(D), logits: 1 };
  const embed = ref.get(w, 'model.embed_tokens.weight');
  const opt = (name: string) => w.get(name)?.data;
  let hs: ref.Vec[] = ids.map((id) => Float64Array.from(embed.subarray(id * C, (id + 1) * C), (x) => x * m.embedding));
  for (let i = 0; i < cfg.numLayers; i++) {
    const n = `model.layers.${i}`;
    const lin = (x: ref.Vec, name: string, inDim: number, outDim: number) =>
      ref.matVecOutIn(x, ref.get(w, `${n}.${name}.weight`), inDim, outDim, opt(`${n}.${name}.bias`));
    const norm = (x: ref.Vec, name: string) => ref.rmsNorm(x, ref.get(w, `${n}.${name}.weight`), cfg.rmsNormEps);
    // q_norm/k_norm over the whole vector, or over each head's D values with the same γ.
    const qkNorm = (x: ref.Vec, name: string, heads: number) => {
      if (cfg.qkNorm === 'projection') return norm(x, name);
      if (cfg.qkNorm !== 'head') return x;
      const out = new Float64Array(x.length);
      for (let h = 0; h < heads; h++) out.set(norm(x.subarray(h * D, (h + 1) * D), name), h * D);
      return out;
    };
    const rotates = cfg.ropeLayers?.[i] !== false;
    const qk = (x: ref.Vec, t: number, name: 'q' | 'k', heads: number) => {
      const y = qkNorm(lin(x, `self_attn.${name}_proj`, C, heads * D), `self_attn.${name}_norm`, heads);
      return rotates ? ref.rotate(y, heads, D, t, invFreq) : y;
    };
    const normed = cfg.postNorms ? hs : hs.map((h) => norm(h, 'input_layernorm'));
    const q = normed.map((x, t) => qk(x, t, 'q', H));
    const k = normed.map((x, t) => qk(x, t, 'k', Hkv));
    const v = normed.map((x) => lin(x, 'self_attn.v_proj', C, Hkv * D));
    const ctx = ref.causalAttention(q, k, v, H, Hkv, D, { window: cfg.slidingWindows[i], scale: m.attention });
    hs = hs.map((h, t) => {
      let a = lin(ctx[t], 'self_attn.o_proj', H * D, C);
      if (cfg.postNorms) a = norm(a, 'post_attention_layernorm');
      const h1 = h.map((x, c) => x + m.residual * a[c]);
      const mIn = cfg.postNorms ? h1 : norm(h1, 'post_attention_layernorm');
      const gate = lin(mIn, 'mlp.gate_proj', C, F);
      const up = lin(mIn, 'mlp.up_proj', C, F);
      const act = gate.map((g, j) => (g / (1 + Math.exp(-g))) * up[j]);
      let out = lin(act, 'mlp.down_proj', F, C);
      if (cfg.postNorms) out = norm(out, 'post_feedforward_layernorm');
      return h1.map((x, c) => x + m.residual * out[c]);
    });
  }
  const final = hs.map((h) => ref.rmsNorm(h, ref.get(w, 'model.norm.weight'), cfg.rmsNormEps));
  const head = cfg.tieWordEmbeddings ? embed : ref.get(w, 'lm_head.weight');
  const logits = ref.logitsFrom(final, head, V, C);
  return m.logits === 1 ? logits : logits.map((x) => x / m.logits);
}

/** Older LLaMA-family checkpoints store RoPE's inverse frequencies; they follow from the config. */
export function dropRotaryBuffers(weights: Weights): Weights {
  for (const name of [...weights.keys()]) if (name.endsWith('.rotary_emb.inv_freq')) weights.delete(name);
  return weights;
}

/** LLaMA's MLP rule: 2/3 of 4h, rounded up to a multiple of 256 (11008 for 4096). */
export const llamaIntermediate = (hidden: number) => Math.ceil((8 * hidden) / 3 / 256) * 256;

/** An architecture for one LLaMA-family model_type, differing only in config defaults. */
export function llamaFamily(defaults: LlamaFamilyDefaults): Architecture<LlamaConfig> {
  return {
    modelType: defaults.modelType,
    hfClass: defaults.hfClass,
    normalizeConfig: (raw) => normalizeLlamaConfig(raw, defaults),
    parameters: llamaParameters,
    init: initLlama,
    forward: llamaForward,
    reference: llamaReference,
    sanitize: dropRotaryBuffers,
    reshape: {
      keys: {
        layers: 'num_hidden_layers', hidden: 'hidden_size', heads: 'num_attention_heads',
        kvHeads: 'num_key_value_heads', inner: 'intermediate_size', positions: 'max_position_embeddings',
      },
      intermediateFor: llamaIntermediate,
      freshConfig: () => ({ hidden_act: 'silu', rms_norm_eps: 1e-6, rope_theta: 10000, attention_bias: false }),
      resized: (out, from, to) => {
        if (defaults.readsLayerTypes && Array.isArray(out.layer_types)) {
          out.layer_types = resizeLayerList(out.layer_types, from.numLayers, to.numLayers, (n) => derivedLayerTypes(out, n, defaults));
        }
      },
    },
    gguf: llamaGgufSpec(defaults),
  };
}

export const llama = llamaFamily(LLAMA_DEFAULTS);
