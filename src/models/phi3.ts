/**
 * Phi-3 (model_type "phi3": Phi-3/3.5-mini, Phi-4-mini): LLaMA-like RMSNorm pre-norm blocks
 * with grouped-query attention and a SwiGLU MLP, but q/k/v fused into qkv_proj and gate/up
 * into gate_up_proj (split in the forward), rotary over partial_rotary_factor of each head,
 * optional longrope scaling (short/long factor per frequency, cos/sin scaled by the attention
 * factor) and a sliding window on every layer when sliding_window is set. No biases.
 *
 * Longrope, as transformers: the short factors while max(position_ids) + 1 ≤
 * original_max_position_embeddings, the long ones for the whole run beyond it. One pass
 * (prefill, scoring, training) matches transformers at any length. Decoding that crosses the
 * original context recomputes the whole sequence once with the long factors (recomputeCacheAt),
 * as transformers' generate does (Phi3ForCausalLM drops its cache there), so the keys cached
 * with the short factors never mix with long-factor ones.
 */
import type { Random } from '../core/random.js';
import type { GgufValue } from '../export/gguf-format.js';
import { UserError } from '../core/tool.js';
import type { Graph, Value } from '../graph/builder.js';
import {
  appendCache,
  applyPartialRotary,
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
import { llamaIntermediate } from './llama.js';
import { checkRopeFactors, inverseFrequencies, readRope, resampleRopeFactors, rotaryOptions, type RopeConfig } from './rope.js';
import type { Weights } from './tensor.js';
import * as ref from './reference.js';
import {
  type Architecture,
  ConfigReader,
  type DecoderConfig,
  type DecoderInputs,
  type DecoderOutputs,
  type ForwardOptions,
  type GgufExtraTensor,
  ParamList,
  type ParamSpec,
  type ReshapedSizes,
  standardInit,
} from './architecture.js';

export interface Phi3Config extends DecoderConfig, RopeConfig {
  modelType: 'phi3';
  intermediateSize: number;
  rmsNormEps: number;
  /** Rotated features per head: head_dim · partial_rotary_factor. */
  rotaryDim: number;
  /** The context the model was pretrained for (original_max_position_embeddings); longrope's switch point. */
  originalMaxPositions: number;
  /** The sliding window of every layer (sliding_window), or null. */
  slidingWindow: number | null;
  /** The embedding row zeroed at init (pad_token_id), if any. */
  padTokenId: number | null;
}

/** partial_rotary_factor: in rope_parameters (transformers ≥ 5) or at the top level, 1 by default. */
function partialRotaryFactor(raw: Record<string, unknown>): unknown {
  const params = raw.rope_parameters as Record<string, unknown> | null | undefined;
  return (params && typeof params === 'object' ? params.partial_rotary_factor : undefined) ?? raw.partial_rotary_factor ?? 1;
}

/**
 * Longrope's factor lists (one per rotary frequency) for a new head size: resampled over the
 * frequencies (resampleRopeFactors), so transformers, which checks their length, loads the config.
 */
function resizeLongropeFactors(out: Record<string, unknown>, to: ReshapedSizes): void {
  const headDim = typeof out.head_dim === 'number' ? out.head_dim : to.hiddenSize / to.numHeads;
  const partial = partialRotaryFactor(out);
  if (typeof partial !== 'number') return; // normalizePhi3Config names the bad value
  const count = Math.floor(headDim * partial) / 2;
  for (const key of ['rope_parameters', 'rope_scaling']) {
    const s = out[key] as Record<string, unknown> | null | undefined;
    if (!s || typeof s !== 'object') continue;
    const resized = { ...s };
    for (const list of ['short_factor', 'long_factor']) {
      const f = s[list];
      if (Array.isArray(f) && f.length > 0 && f.length !== count && Number.isInteger(count)) resized[list] = resampleRopeFactors(f as number[], count);
    }
    out[key] = resized;
  }
}

export function normalizePhi3Config(raw: Record<string, unknown>): Phi3Config {
  const where = 'phi3 config.json';
  const r = new ConfigReader(raw, where);
  const hiddenSize = r.int('hidden_size', 3072);
  const numHeads = r.int('num_attention_heads', 32);
  const numKvHeads = r.int('num_key_value_heads', numHeads);
  r.divisible('num_attention_heads', numHeads, numKvHeads, 'num_key_value_heads');
  if (!r.has('head_dim')) r.divisible('hidden_size', hiddenSize, numHeads, 'num_attention_heads');
  const headDim = r.int('head_dim', hiddenSize / numHeads);
  const act = String(raw.hidden_act ?? 'silu');
  if (act !== 'silu') throw new UserError(`${where}: hidden_act "${act}" is not supported; use silu`);

  // Phi3Config's defaults for what longrope reads, and its old names: "su" and "yarn" both mean longrope.
  const withDefaults: Record<string, unknown> = { max_position_embeddings: 4096, original_max_position_embeddings: 4096, ...raw };
  for (const key of ['rope_scaling', 'rope_parameters']) {
    const s = raw[key] as Record<string, unknown> | null | undefined;
    if (s && typeof s === 'object' && (s.rope_type ?? s.type) === 'yarn') withDefaults[key] = { ...s, rope_type: 'longrope', type: undefined };
  }
  const rope = readRope(withDefaults, 'phi3', 10000, undefined, { longrope: true });
  const partial = partialRotaryFactor(raw);
  if (typeof partial !== 'number' || !(partial > 0 && partial <= 1)) {
    throw new UserError(`${where}: "partial_rotary_factor" must be a number in (0, 1], got ${JSON.stringify(partial)}`);
  }
  const rotaryDim = Math.floor(headDim * partial);
  if (rotaryDim < 2 || rotaryDim % 2 !== 0) {
    throw new UserError(`${where}: head_dim ${headDim} × partial_rotary_factor ${partial} = ${rotaryDim} rotary features; it must be even and at least 2`);
  }
  checkRopeFactors(rope.ropeScaling, rotaryDim, where);
  const window = raw.sliding_window;
  if (window != null && (typeof window !== 'number' || !Number.isInteger(window) || window <= 0)) {
    throw new UserError(`${where}: "sliding_window" must be a positive integer or null, got ${JSON.stringify(window)}`);
  }
  const pad = raw.pad_token_id === undefined ? 32000 : r.tokenIds('pad_token_id');
  return {
    modelType: 'phi3',
    vocabSize: r.int('vocab_size', 32064),
    hiddenSize,
    numLayers: r.int('num_hidden_layers', 32),
    numHeads,
    numKvHeads,
    headDim,
    maxPositions: r.int('max_position_embeddings', 4096),
    intermediateSize: r.int('intermediate_size', 8192),
    rmsNormEps: r.number('rms_norm_eps', 1e-5),
    ...rope,
    rotaryDim,
    originalMaxPositions: r.int('original_max_position_embeddings', 4096),
    ...(rope.ropeScaling.type === 'longrope' ? { recomputeCacheAt: rope.ropeScaling.originalMaxPositions } : {}),
    slidingWindow: (window as number | null | undefined) ?? null,
    tieWordEmbeddings: r.bool('tie_word_embeddings', false),
    initializerRange: r.number('initializer_range', 0.02),
    bosTokenId: raw.bos_token_id === undefined ? 1 : (r.tokenIds('bos_token_id') as number | null),
    eosTokenId: raw.eos_token_id === undefined ? 32000 : r.tokenIds('eos_token_id'),
    padTokenId: typeof pad === 'number' ? pad : null,
  };
}

export function phi3Parameters(cfg: Phi3Config): ParamSpec[] {
  const C = cfg.hiddenSize;
  const Q = cfg.numHeads * cfg.headDim;
  const KV = cfg.numKvHeads * cfg.headDim;
  const F = cfg.intermediateSize;
  const params = new ParamList().add({ name: 'model.embed_tokens.weight', shape: [cfg.vocabSize, C], role: 'token_embedding' });
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `model.layers.${i}`;
    params.norm(`${p}.input_layernorm`, C, false);
    params.linear(`${p}.self_attn.qkv_proj`, Q + 2 * KV, C, 'attention', { parts: [{ name: 'q', size: Q }, { name: 'k', size: KV }, { name: 'v', size: KV }] });
    params.linear(`${p}.self_attn.o_proj`, C, Q, 'attention');
    params.norm(`${p}.post_attention_layernorm`, C, false);
    params.linear(`${p}.mlp.gate_up_proj`, 2 * F, C, 'mlp', { parts: [{ name: 'gate', size: F }, { name: 'up', size: F }] });
    params.linear(`${p}.mlp.down_proj`, C, F, 'mlp');
  }
  return params.norm('model.norm', C, false).head('lm_head.weight', cfg.vocabSize, C, cfg.tieWordEmbeddings).specs;
}

/**
 * Phi3PreTrainedModel uses PreTrainedModel._init_weights: Linear and Embedding weights
 * normal(0, initializer_range), RMSNorm γ = 1, the padding token's embedding row 0.
 */
export function initPhi3(cfg: Phi3Config, rng: Random) {
  return standardInit(phi3Parameters(cfg), rng, { std: cfg.initializerRange, padTokenId: cfg.padTokenId });
}

type Param = (name: string) => Value;

function selfAttention(g: Graph, i: number, cfg: Phi3Config, x: Value, io: DecoderInputs, bias: Value, rope: RotaryTables, param: Param) {
  const P = `/model/layers.${i}/self_attn`;
  const n = `model.layers.${i}.self_attn`;
  const { numHeads: H, numKvHeads: Hkv, headDim: D } = cfg;
  const qkv = linear(g, `${P}/qkv_proj`, x, param(`${n}.qkv_proj.weight`));
  const [q, k, v] = op.split(g, `${P}/qkv/Split`, qkv, [H * D, Hkv * D, Hkv * D], -1);
  const key = appendCache(g, `${P}/present_key/Concat`, io.past[i].key, applyPartialRotary(g, `${P}/k_rotary`, splitHeads(g, `${P}/k`, k, Hkv, D), rope));
  const value = appendCache(g, `${P}/present_value/Concat`, io.past[i].value, splitHeads(g, `${P}/v`, v, Hkv, D));
  const ctx = attention(g, P, applyPartialRotary(g, `${P}/q_rotary`, splitHeads(g, `${P}/q`, q, H, D), rope), key, value, bias, cfg);
  return { out: linear(g, `${P}/o_proj`, ctx, param(`${n}.o_proj.weight`)), key, value };
}

/** SwiGLU from the fused projection: down(up · silu(gate)), gate the first half of gate_up_proj's output. */
function mlp(g: Graph, i: number, cfg: Phi3Config, x: Value, param: Param): Value {
  const P = `/model/layers.${i}/mlp`;
  const n = `model.layers.${i}.mlp`;
  const F = cfg.intermediateSize;
  const [gate, up] = op.split(g, `${P}/gate_up/Split`, linear(g, `${P}/gate_up_proj`, x, param(`${n}.gate_up_proj.weight`)), [F, F], -1);
  const silu = op.mul(g, `${P}/act/Mul`, gate, op.sigmoid(g, `${P}/act/Sigmoid`, gate));
  return linear(g, `${P}/down_proj`, op.mul(g, `${P}/gate_up/Mul`, up, silu), param(`${n}.down_proj.weight`));
}

export function phi3Forward(g: Graph, cfg: Phi3Config, io: DecoderInputs, options: ForwardOptions): DecoderOutputs {
  const shapes = new Map(phi3Parameters(cfg).map((p) => [p.name, p.shape]));
  const param = (name: string) => g.param(name, shapes.get(name)!);
  const embed = param('model.embed_tokens.weight');
  let h = op.gather(g, '/model/embed_tokens/Gather', embed, io.inputIds);
  const { ropeTheta: theta, ropeScaling: scaling, rotaryDim: R } = cfg;
  const rope = rotaryTables(g, '/model/rotary_emb', io.positionIds, inverseFrequencies(theta, scaling, R), rotaryOptions(theta, scaling, R));
  const bias = cfg.slidingWindow === null
    ? io.attentionBias
    : attentionBias(g, `/model/sliding_mask_${cfg.slidingWindow}`, io.inputIds, io.attentionMask, cfg.slidingWindow);
  const present: DecoderOutputs['present'] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    const L = `/model/layers.${i}`;
    const n = `model.layers.${i}`;
    const a = rmsNorm(g, `${L}/input_layernorm`, h, param(`${n}.input_layernorm.weight`), cfg.rmsNormEps);
    const attn = selfAttention(g, i, cfg, a, io, bias, rope, param);
    h = op.add(g, `${L}/self_attn/residual/Add`, h, attn.out);
    const m = rmsNorm(g, `${L}/post_attention_layernorm`, h, param(`${n}.post_attention_layernorm.weight`), cfg.rmsNormEps);
    h = op.add(g, `${L}/mlp/residual/Add`, h, mlp(g, i, cfg, m, param));
    present.push({ key: attn.key, value: attn.value });
  }
  if (options.logits === 'last') h = lastPosition(g, '/model/last_position', h);
  h = rmsNorm(g, '/model/norm', h, param('model.norm.weight'), cfg.rmsNormEps);
  return { logits: linear(g, '/lm_head', h, cfg.tieWordEmbeddings ? embed : param('lm_head.weight')), present };
}

/** The plain-TypeScript forward the graph is checked against (one sequence: longrope picks its factors by its length). */
export function phi3Reference(cfg: Phi3Config, w: Weights, ids: number[]): Float32Array {
  const { hiddenSize: C, numHeads: H, numKvHeads: Hkv, headDim: D, intermediateSize: F, vocabSize: V } = cfg;
  const { ropeTheta: theta, ropeScaling: scaling, rotaryDim: R } = cfg;
  const extra = rotaryOptions(theta, scaling, R);
  const invFreq = extra.long && ids.length > extra.long.from ? extra.long.invFreq : inverseFrequencies(theta, scaling, R);
  const rot = (x: ref.Vec, heads: number, t: number) => ref.rotate(x, heads, D, t, invFreq, extra.scale ?? 1);
  const embed = ref.get(w, 'model.embed_tokens.weight');
  let hs: ref.Vec[] = ids.map((id) => Float64Array.from(embed.subarray(id * C, (id + 1) * C)));
  for (let i = 0; i < cfg.numLayers; i++) {
    const n = `model.layers.${i}`;
    const lin = (x: ref.Vec, name: string, inDim: number, outDim: number) => ref.matVecOutIn(x, ref.get(w, `${n}.${name}.weight`), inDim, outDim);
    const qkv = hs.map((h) => lin(ref.rmsNorm(h, ref.get(w, `${n}.input_layernorm.weight`), cfg.rmsNormEps), 'self_attn.qkv_proj', C, (H + 2 * Hkv) * D));
    const q = qkv.map((x, t) => rot(x.subarray(0, H * D), H, t));
    const k = qkv.map((x, t) => rot(x.subarray(H * D, (H + Hkv) * D), Hkv, t));
    const v = qkv.map((x) => x.subarray((H + Hkv) * D));
    const ctx = ref.causalAttention(q, k, v, H, Hkv, D, { window: cfg.slidingWindow });
    hs = hs.map((h, t) => {
      const a = lin(ctx[t], 'self_attn.o_proj', H * D, C);
      const h1 = h.map((x, c) => x + a[c]);
      const gateUp = lin(ref.rmsNorm(h1, ref.get(w, `${n}.post_attention_layernorm.weight`), cfg.rmsNormEps), 'mlp.gate_up_proj', C, 2 * F);
      const act = Float64Array.from({ length: F }, (_, j) => (gateUp[j] / (1 + Math.exp(-gateUp[j]))) * gateUp[F + j]);
      const out = lin(act, 'mlp.down_proj', F, C);
      return h1.map((x, c) => x + out[c]);
    });
  }
  const final = hs.map((h) => ref.rmsNorm(h, ref.get(w, 'model.norm.weight'), cfg.rmsNormEps));
  return ref.logitsFrom(final, cfg.tieWordEmbeddings ? embed : ref.get(w, 'lm_head.weight'), V, C);
}

/** Older checkpoints store RoPE's inverse frequencies; they follow from the config. */
function sanitizePhi3(weights: Weights): Weights {
  for (const name of [...weights.keys()]) if (name.endsWith('.rotary_emb.inv_freq')) weights.delete(name);
  return weights;
}

/** llama.cpp's phi3 hyperparameters as convert_hf_to_gguf.py's Phi3MiniModel writes them. */
function phi3GgufHyperparameters(cfg: Phi3Config): [string, GgufValue][] {
  const u32 = (value: number): GgufValue => ({ type: 'u32', value });
  const s = cfg.ropeScaling;
  if (s.type !== 'none' && s.type !== 'longrope') throw new UserError(`--export_format gguf: phi3 rope_scaling ${s.type} has no GGUF form; use onnx or safetensors`);
  if (cfg.headDim * cfg.numHeads !== cfg.hiddenSize) {
    throw new UserError('--export_format gguf: llama.cpp derives phi3 head_dim from hidden_size / num_attention_heads; this config overrides head_dim');
  }
  return [
    ['rope.scaling.original_context_length', u32(cfg.originalMaxPositions)],
    ['feed_forward_length', u32(cfg.intermediateSize)],
    ['attention.head_count_kv', u32(cfg.numKvHeads)],
    ['attention.layer_norm_rms_epsilon', { type: 'f32', value: cfg.rmsNormEps }],
    ['rope.dimension_count', u32(cfg.rotaryDim)],
    ['rope.freq_base', { type: 'f32', value: cfg.ropeTheta }],
    // 0 tells llama.cpp there is no window.
    ['attention.sliding_window', u32(cfg.slidingWindow ?? 0)],
    // Longrope's cos/sin scale; llama.cpp multiplies its rope by it as transformers does.
    ...(s.type === 'longrope' ? [['rope.scaling.attn_factor', { type: 'f32', value: s.attentionFactor }] as [string, GgufValue]] : []),
  ];
}

/**
 * Longrope's factors as llama.cpp reads them: one tensor of each list. llama.cpp picks the long
 * ones for a whole run when its context exceeds original_context_length, the short ones
 * otherwise (transformers: by the sequence's length).
 */
function phi3GgufExtraTensors(cfg: Phi3Config): GgufExtraTensor[] {
  const s = cfg.ropeScaling;
  if (s.type !== 'longrope') return [];
  return [
    { name: 'rope_factors_long.weight', shape: [s.longFactor.length], data: Float32Array.from(s.longFactor) },
    { name: 'rope_factors_short.weight', shape: [s.shortFactor.length], data: Float32Array.from(s.shortFactor) },
  ];
}

export const phi3: Architecture<Phi3Config> = {
  modelType: 'phi3',
  hfClass: 'Phi3ForCausalLM',
  normalizeConfig: normalizePhi3Config,
  parameters: phi3Parameters,
  init: initPhi3,
  forward: phi3Forward,
  reference: phi3Reference,
  sanitize: sanitizePhi3,
  reshape: {
    keys: {
      layers: 'num_hidden_layers', hidden: 'hidden_size', heads: 'num_attention_heads',
      kvHeads: 'num_key_value_heads', inner: 'intermediate_size', positions: 'max_position_embeddings',
    },
    intermediateFor: llamaIntermediate,
    // Phi3Config's pad_token_id 32000 would be out of range for a smaller vocabulary.
    freshConfig: (cur) => ({ hidden_act: 'silu', rms_norm_eps: 1e-5, rope_theta: 10000, original_max_position_embeddings: cur.maxPositions, pad_token_id: null }),
    resized: (out, _from, to) => resizeLongropeFactors(out, to),
  },
  gguf: {
    arch: 'phi3',
    tokenizerPre: 'default',
    // llama.cpp's phi3 rotates NEOX-style (rotate-half), so q/k rows stay as they are.
    writesTiedHead: true,
    tensorNames: [
      [/^model\.embed_tokens\.weight$/, 'token_embd.weight'],
      [/^model\.layers\.(\d+)\.input_layernorm\.weight$/, 'blk.$1.attn_norm.weight'],
      [/^model\.layers\.(\d+)\.self_attn\.qkv_proj\.weight$/, 'blk.$1.attn_qkv.weight'],
      [/^model\.layers\.(\d+)\.self_attn\.o_proj\.weight$/, 'blk.$1.attn_output.weight'],
      [/^model\.layers\.(\d+)\.post_attention_layernorm\.weight$/, 'blk.$1.ffn_norm.weight'],
      // llama.cpp's phi3 keeps gate and up fused in ffn_up and splits it as transformers does.
      [/^model\.layers\.(\d+)\.mlp\.gate_up_proj\.weight$/, 'blk.$1.ffn_up.weight'],
      [/^model\.layers\.(\d+)\.mlp\.down_proj\.weight$/, 'blk.$1.ffn_down.weight'],
      [/^model\.norm\.weight$/, 'output_norm.weight'],
      [/^lm_head\.weight$/, 'output.weight'],
    ],
    hyperparameters: phi3GgufHyperparameters,
    extraTensors: phi3GgufExtraTensors,
  },
};
