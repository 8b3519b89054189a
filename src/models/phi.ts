/**
 * Phi (model_type "phi": phi-1, phi-1.5, phi-2): one LayerNorm per block feeding attention and
 * the MLP side by side (h + attn(ln(h)) + mlp(ln(h))), rotary positions on the first
 * partial_rotary_factor of each head, biases on every projection, optional LayerNorm of each
 * q/k head (qk_layernorm), a GELU MLP (fc1/fc2), a final LayerNorm and a head with a bias.
 */
import type { Random } from '../core/random.js';
import { UserError } from '../core/tool.js';
import type { Graph, Value } from '../graph/builder.js';
import { appendCache, applyPartialRotary, attention, lastPosition, linear, rotaryTables, splitHeads, type RotaryTables } from '../graph/layers.js';
import * as op from '../graph/ops.js';
import { geluApproximation } from './activation.js';
import { ggufRopeScaling, inverseFrequencies, partialRotaryFactorFor, readRope, rotaryDimension, type RopeConfig } from './rope.js';
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
  standardInit,
} from './architecture.js';

export interface PhiConfig extends DecoderConfig, RopeConfig {
  intermediateSize: number;
  layerNormEps: number;
  geluApproximate: 'tanh' | 'none';
  /** A LayerNorm (weight and bias over head_dim, shared by the heads) on q and on k before rotary. */
  qkLayerNorm: boolean;
  /** Features of each head that rotate: int(head_dim · partial_rotary_factor). */
  rotaryDim: number;
  /** The embedding row zeroed at init (pad_token_id), if any. */
  padTokenId: number | null;
}

export function normalizePhiConfig(raw: Record<string, unknown>): PhiConfig {
  const where = 'phi config.json';
  const r = new ConfigReader(raw, where);
  const hiddenSize = r.int('hidden_size', 2048);
  const numHeads = r.int('num_attention_heads', 32);
  const numKvHeads = r.int('num_key_value_heads', numHeads);
  r.divisible('num_attention_heads', numHeads, numKvHeads, 'num_key_value_heads');
  if (!r.has('head_dim')) r.divisible('hidden_size', hiddenSize, numHeads, 'num_attention_heads');
  const headDim = r.int('head_dim', hiddenSize / numHeads);
  const qkLayerNorm = r.bool('qk_layernorm', false);
  // transformers sizes the q/k LayerNorms hidden_size / heads whatever head_dim says.
  if (qkLayerNorm && headDim * numHeads !== hiddenSize) throw new UserError(`${where}: qk_layernorm needs head_dim (${headDim}) = hidden_size / num_attention_heads`);
  const pad = r.tokenIds('pad_token_id');
  return {
    modelType: 'phi',
    vocabSize: r.int('vocab_size', 51200),
    hiddenSize,
    numLayers: r.int('num_hidden_layers', 24),
    numHeads,
    numKvHeads,
    headDim,
    maxPositions: r.int('max_position_embeddings', 2048),
    intermediateSize: r.int('intermediate_size', 8192),
    layerNormEps: r.number('layer_norm_eps', 1e-5),
    geluApproximate: geluApproximation(raw.hidden_act ?? 'gelu_new', where, 'hidden_act'),
    qkLayerNorm,
    ...readRope(raw, 'phi', 10000),
    rotaryDim: rotaryDimension(raw, 'phi', headDim, 'partial_rotary_factor', 0.5),
    tieWordEmbeddings: r.bool('tie_word_embeddings', false),
    initializerRange: r.number('initializer_range', 0.02),
    bosTokenId: r.tokenIds('bos_token_id') as number | null,
    eosTokenId: r.tokenIds('eos_token_id'),
    padTokenId: typeof pad === 'number' ? pad : null,
  };
}

export function phiParameters(cfg: PhiConfig): ParamSpec[] {
  const { hiddenSize: C, intermediateSize: F, headDim: D } = cfg;
  const Q = cfg.numHeads * D;
  const KV = cfg.numKvHeads * D;
  const params = new ParamList().add({ name: 'model.embed_tokens.weight', shape: [cfg.vocabSize, C], role: 'token_embedding' });
  const norm = (name: string, size = C) => params.norm(name, size, true);
  const lin = (name: string, out: number, inp: number, role: 'attention' | 'mlp') => params.linear(name, out, inp, role, { bias: true });
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `model.layers.${i}`;
    norm(`${p}.input_layernorm`);
    lin(`${p}.self_attn.q_proj`, Q, C, 'attention');
    lin(`${p}.self_attn.k_proj`, KV, C, 'attention');
    lin(`${p}.self_attn.v_proj`, KV, C, 'attention');
    if (cfg.qkLayerNorm) {
      norm(`${p}.self_attn.q_layernorm`, D);
      norm(`${p}.self_attn.k_layernorm`, D);
    }
    lin(`${p}.self_attn.dense`, C, Q, 'attention');
    lin(`${p}.mlp.fc1`, F, C, 'mlp');
    lin(`${p}.mlp.fc2`, C, F, 'mlp');
  }
  norm('model.final_layernorm').head('lm_head.weight', cfg.vocabSize, C, cfg.tieWordEmbeddings);
  // The head's bias stays its own parameter when the weight is tied.
  return params.add({ name: 'lm_head.bias', shape: [cfg.vocabSize], role: 'bias' }).specs;
}

/**
 * transformers' default _init_weights: Linear/Embedding normal(0, initializer_range), biases 0,
 * LayerNorm γ=1 β=0, the padding token's embedding row 0.
 */
export function initPhi(cfg: PhiConfig, rng: Random): Weights {
  return standardInit(phiParameters(cfg), rng, { std: cfg.initializerRange, padTokenId: cfg.padTokenId });
}

type Param = (name: string) => Value;

function selfAttention(g: Graph, i: number, cfg: PhiConfig, x: Value, io: DecoderInputs, rope: RotaryTables, param: Param) {
  const P = `/model/layers.${i}/self_attn`;
  const n = `model.layers.${i}.self_attn`;
  const { numHeads: H, numKvHeads: Hkv, headDim: D, rotaryDim } = cfg;
  const proj = (name: string, heads: number) =>
    splitHeads(g, `${P}/${name[0]}`, linear(g, `${P}/${name}`, x, param(`${n}.${name}.weight`), param(`${n}.${name}.bias`)), heads, D);
  // qk_layernorm: one LayerNorm over head_dim, shared by the heads, before the rotation.
  const headNorm = (v: Value, name: string) =>
    cfg.qkLayerNorm ? op.layerNorm(g, `${P}/${name}/LayerNormalization`, v, param(`${n}.${name}.weight`), param(`${n}.${name}.bias`), cfg.layerNormEps) : v;
  const q = applyPartialRotary(g, `${P}/q_rotary`, headNorm(proj('q_proj', H), 'q_layernorm'), rope);
  const k = applyPartialRotary(g, `${P}/k_rotary`, headNorm(proj('k_proj', Hkv), 'k_layernorm'), rope);
  const key = appendCache(g, `${P}/present_key/Concat`, io.past[i].key, k);
  const value = appendCache(g, `${P}/present_value/Concat`, io.past[i].value, proj('v_proj', Hkv));
  const ctx = attention(g, P, q, key, value, io.attentionBias, cfg);
  return { out: linear(g, `${P}/dense`, ctx, param(`${n}.dense.weight`), param(`${n}.dense.bias`)), key, value };
}

function mlp(g: Graph, i: number, cfg: PhiConfig, x: Value, param: Param): Value {
  const P = `/model/layers.${i}/mlp`;
  const n = `model.layers.${i}.mlp`;
  const fc1 = linear(g, `${P}/fc1`, x, param(`${n}.fc1.weight`), param(`${n}.fc1.bias`));
  return linear(g, `${P}/fc2`, op.gelu(g, `${P}/act/Gelu`, fc1, cfg.geluApproximate), param(`${n}.fc2.weight`), param(`${n}.fc2.bias`));
}

export function phiForward(g: Graph, cfg: PhiConfig, io: DecoderInputs, options: ForwardOptions): DecoderOutputs {
  const shapes = new Map(phiParameters(cfg).map((p) => [p.name, p.shape]));
  const param = (name: string) => g.param(name, shapes.get(name)!);
  const ln = (prefix: string, x: Value, name: string) =>
    op.layerNorm(g, `${prefix}/LayerNormalization`, x, param(`${name}.weight`), param(`${name}.bias`), cfg.layerNormEps);
  const embed = param('model.embed_tokens.weight');
  let h = op.gather(g, '/model/embed_tokens/Gather', embed, io.inputIds);
  const rope = rotaryTables(g, '/model/rotary_emb', io.positionIds, inverseFrequencies(cfg.ropeTheta, cfg.ropeScaling, cfg.rotaryDim));
  const present: DecoderOutputs['present'] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    const L = `/model/layers.${i}`;
    const a = ln(`${L}/input_layernorm`, h, `model.layers.${i}.input_layernorm`);
    const attn = selfAttention(g, i, cfg, a, io, rope, param);
    // attn_outputs + feed_forward_hidden_states + residual, as PhiDecoderLayer adds them.
    h = op.add(g, `${L}/residual/Add`, op.add(g, `${L}/attn_mlp/Add`, attn.out, mlp(g, i, cfg, a, param)), h);
    present.push({ key: attn.key, value: attn.value });
  }
  if (options.logits === 'last') h = lastPosition(g, '/model/last_position', h);
  h = ln('/model/final_layernorm', h, 'model.final_layernorm');
  const head = cfg.tieWordEmbeddings ? embed : param('lm_head.weight');
  return { logits: linear(g, '/lm_head', h, head, param('lm_head.bias')), present };
}

/** The plain-TypeScript forward the graph is checked against. */
export function phiReference(cfg: PhiConfig, w: Weights, ids: number[]): Float32Array {
  const { hiddenSize: C, numHeads: H, numKvHeads: Hkv, headDim: D, intermediateSize: F, vocabSize: V, rotaryDim: R } = cfg;
  const invFreq = inverseFrequencies(cfg.ropeTheta, cfg.ropeScaling, R);
  const embed = ref.get(w, 'model.embed_tokens.weight');
  const gelu = cfg.geluApproximate === 'tanh' ? ref.geluTanh : ref.geluExact;
  let hs: ref.Vec[] = ids.map((id) => Float64Array.from(embed.subarray(id * C, (id + 1) * C)));
  for (let i = 0; i < cfg.numLayers; i++) {
    const n = `model.layers.${i}`;
    const lin = (x: ref.Vec, name: string, inDim: number, outDim: number) =>
      ref.matVecOutIn(x, ref.get(w, `${n}.${name}.weight`), inDim, outDim, ref.get(w, `${n}.${name}.bias`));
    const headNorm = (x: ref.Vec, heads: number, name: string) => {
      if (!cfg.qkLayerNorm) return x;
      const out = new Float64Array(x.length);
      for (let h = 0; h < heads; h++) out.set(ref.layerNorm(x.subarray(h * D, (h + 1) * D), ref.get(w, `${n}.${name}.weight`), ref.get(w, `${n}.${name}.bias`), cfg.layerNormEps), h * D);
      return out;
    };
    const normed = hs.map((h) => ref.layerNorm(h, ref.get(w, `${n}.input_layernorm.weight`), ref.get(w, `${n}.input_layernorm.bias`), cfg.layerNormEps));
    const q = normed.map((x, t) => ref.rotate(headNorm(lin(x, 'self_attn.q_proj', C, H * D), H, 'self_attn.q_layernorm'), H, D, t, invFreq));
    const k = normed.map((x, t) => ref.rotate(headNorm(lin(x, 'self_attn.k_proj', C, Hkv * D), Hkv, 'self_attn.k_layernorm'), Hkv, D, t, invFreq));
    const ctx = ref.causalAttention(q, k, normed.map((x) => lin(x, 'self_attn.v_proj', C, Hkv * D)), H, Hkv, D);
    hs = hs.map((h, t) => {
      const a = lin(ctx[t], 'self_attn.dense', H * D, C);
      const m = lin(lin(normed[t], 'mlp.fc1', C, F).map(gelu), 'mlp.fc2', F, C);
      return h.map((x, c) => x + a[c] + m[c]);
    });
  }
  const final = hs.map((h) => ref.layerNorm(h, ref.get(w, 'model.final_layernorm.weight'), ref.get(w, 'model.final_layernorm.bias'), cfg.layerNormEps));
  const logits = ref.logitsFrom(final, cfg.tieWordEmbeddings ? embed : ref.get(w, 'lm_head.weight'), V, C);
  const bias = ref.get(w, 'lm_head.bias');
  for (let i = 0; i < logits.length; i++) logits[i] += bias[i % V];
  return logits;
}

export const phi: Architecture<PhiConfig> = {
  modelType: 'phi',
  hfClass: 'PhiForCausalLM',
  normalizeConfig: normalizePhiConfig,
  parameters: phiParameters,
  init: initPhi,
  forward: phiForward,
  reference: phiReference,
  // Older checkpoints store rotary_emb.inv_freq; it follows from the config.
  sanitize: (weights) => {
    for (const name of [...weights.keys()]) if (name.endsWith('.rotary_emb.inv_freq')) weights.delete(name);
    return weights;
  },
  reshape: {
    keys: {
      layers: 'num_hidden_layers', hidden: 'hidden_size', heads: 'num_attention_heads',
      kvHeads: 'num_key_value_heads', inner: 'intermediate_size', positions: 'max_position_embeddings',
    },
    intermediateFor: (hidden) => 4 * hidden,
    freshConfig: (cur) => ({
      hidden_act: 'gelu_new', layer_norm_eps: 1e-5, qk_layernorm: false,
      rope_parameters: { rope_type: 'default', rope_theta: 10000, partial_rotary_factor: partialRotaryFactorFor(cur.hiddenSize / cur.numHeads, 0.5) },
    }),
  },
  gguf: {
    arch: 'phi2',
    tokenizerPre: 'phi-2',
    // llama.cpp's phi2 reads output.weight (and output.bias) even when the head is tied.
    writesTiedHead: true,
    tensorNames: [
      [/^model\.embed_tokens\.weight$/, 'token_embd.weight'],
      [/^model\.layers\.(\d+)\.input_layernorm\.(weight|bias)$/, 'blk.$1.attn_norm.$2'],
      [/^model\.layers\.(\d+)\.self_attn\.q_proj\.(weight|bias)$/, 'blk.$1.attn_q.$2'],
      [/^model\.layers\.(\d+)\.self_attn\.k_proj\.(weight|bias)$/, 'blk.$1.attn_k.$2'],
      [/^model\.layers\.(\d+)\.self_attn\.v_proj\.(weight|bias)$/, 'blk.$1.attn_v.$2'],
      [/^model\.layers\.(\d+)\.self_attn\.dense\.(weight|bias)$/, 'blk.$1.attn_output.$2'],
      [/^model\.layers\.(\d+)\.mlp\.fc1\.(weight|bias)$/, 'blk.$1.ffn_up.$2'],
      [/^model\.layers\.(\d+)\.mlp\.fc2\.(weight|bias)$/, 'blk.$1.ffn_down.$2'],
      [/^model\.final_layernorm\.(weight|bias)$/, 'output_norm.$1'],
      [/^lm_head\.(weight|bias)$/, 'output.$1'],
    ],
    // NEOX rope in llama.cpp's phi2, as transformers rotates halves: q/k rows stay as they are.
    hyperparameters: (cfg) => {
      if (cfg.qkLayerNorm) throw new UserError('--export_format gguf: llama.cpp\'s phi2 has no q/k LayerNorm (this config has qk_layernorm true); use onnx or safetensors');
      if (cfg.headDim * cfg.numHeads !== cfg.hiddenSize) throw new UserError(`--export_format gguf: llama.cpp's phi2 needs head_dim = hidden_size / num_attention_heads (head_dim is ${cfg.headDim}); use onnx or safetensors`);
      return [
        ['feed_forward_length', { type: 'u32', value: cfg.intermediateSize }],
        ['attention.head_count_kv', { type: 'u32', value: cfg.numKvHeads }],
        ['attention.layer_norm_epsilon', { type: 'f32', value: cfg.layerNormEps }],
        ['rope.dimension_count', { type: 'u32', value: cfg.rotaryDim }],
        ['rope.freq_base', { type: 'f32', value: cfg.ropeTheta }],
        ...ggufRopeScaling(cfg.ropeScaling),
      ];
    },
  },
};
