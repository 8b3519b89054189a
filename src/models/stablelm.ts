/**
 * StableLM (model_type "stablelm": StableLM-3B-4E1T, StableLM 2): LayerNorm blocks with biases,
 * rotary positions on the first partial_rotary_factor of each head, grouped-query attention
 * with optional q/k/v biases (use_qkv_bias), optional LayerNorms of each q/k head with a weight
 * per head (qk_layernorm, StableLM 2 12B), SwiGLU MLP, and attention and MLP side by side on
 * the same normed input when use_parallel_residual (then the block has no second LayerNorm).
 */
import type { Random } from '../core/random.js';
import { UserError } from '../core/tool.js';
import type { Graph, Value } from '../graph/builder.js';
import { appendCache, applyPartialRotary, attention, lastPosition, linear, rotaryTables, splitHeads, type RotaryTables } from '../graph/layers.js';
import * as op from '../graph/ops.js';
import { llamaIntermediate } from './llama.js';
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

export interface StableLmConfig extends DecoderConfig, RopeConfig {
  intermediateSize: number;
  layerNormEps: number;
  qkvBias: boolean;
  /** Per-head LayerNorms (weight only, one per head) on q and k before rotary. */
  qkLayerNorm: boolean;
  /** h + attn(ln(h)) + mlp(ln(h)), no post_attention_layernorm. */
  parallelResidual: boolean;
  /** Features of each head that rotate: int(head_dim · partial_rotary_factor). */
  rotaryDim: number;
  /** The embedding row zeroed at init (pad_token_id), if any. */
  padTokenId: number | null;
}

export function normalizeStableLmConfig(raw: Record<string, unknown>): StableLmConfig {
  const where = 'stablelm config.json';
  const r = new ConfigReader(raw, where);
  const hiddenSize = r.int('hidden_size', 2560);
  const numHeads = r.int('num_attention_heads', 32);
  r.divisible('hidden_size', hiddenSize, numHeads, 'num_attention_heads');
  // StableLmConfig's default is 32 key/value heads whatever the head count.
  const numKvHeads = r.int('num_key_value_heads', 32);
  r.divisible('num_attention_heads', numHeads, numKvHeads, 'num_key_value_heads');
  const headDim = hiddenSize / numHeads;
  const act = String(raw.hidden_act ?? 'silu');
  if (act !== 'silu') throw new UserError(`${where}: hidden_act "${act}" is not supported; use silu`);
  const pad = r.tokenIds('pad_token_id');
  return {
    modelType: 'stablelm',
    vocabSize: r.int('vocab_size', 50304),
    hiddenSize,
    numLayers: r.int('num_hidden_layers', 32),
    numHeads,
    numKvHeads,
    headDim,
    maxPositions: r.int('max_position_embeddings', 4096),
    intermediateSize: r.int('intermediate_size', 6912),
    layerNormEps: r.number('layer_norm_eps', 1e-5),
    qkvBias: r.bool('use_qkv_bias', false),
    qkLayerNorm: r.bool('qk_layernorm', false),
    parallelResidual: r.bool('use_parallel_residual', false),
    ...readRope(raw, 'stablelm', 10000),
    rotaryDim: rotaryDimension(raw, 'stablelm', headDim, 'partial_rotary_factor', 0.25),
    tieWordEmbeddings: r.bool('tie_word_embeddings', false),
    initializerRange: r.number('initializer_range', 0.02),
    bosTokenId: r.tokenIds('bos_token_id') as number | null,
    eosTokenId: r.tokenIds('eos_token_id'),
    padTokenId: typeof pad === 'number' ? pad : null,
  };
}

export function stableLmParameters(cfg: StableLmConfig): ParamSpec[] {
  const { hiddenSize: C, intermediateSize: F, headDim: D } = cfg;
  const KV = cfg.numKvHeads * D;
  const params = new ParamList().add({ name: 'model.embed_tokens.weight', shape: [cfg.vocabSize, C], role: 'token_embedding' });
  const norm = (name: string) => params.norm(name, C, true);
  const lin = (name: string, out: number, inp: number, role: 'attention' | 'mlp', bias = false) => params.linear(name, out, inp, role, { bias });
  const headNorms = (name: string, heads: number) => {
    for (let h = 0; h < heads; h++) params.norm(`${name}.norms.${h}`, D, false);
  };
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `model.layers.${i}`;
    norm(`${p}.input_layernorm`);
    lin(`${p}.self_attn.q_proj`, C, C, 'attention', cfg.qkvBias);
    lin(`${p}.self_attn.k_proj`, KV, C, 'attention', cfg.qkvBias);
    lin(`${p}.self_attn.v_proj`, KV, C, 'attention', cfg.qkvBias);
    lin(`${p}.self_attn.o_proj`, C, C, 'attention');
    if (cfg.qkLayerNorm) {
      headNorms(`${p}.self_attn.q_layernorm`, cfg.numHeads);
      headNorms(`${p}.self_attn.k_layernorm`, cfg.numKvHeads);
    }
    if (!cfg.parallelResidual) norm(`${p}.post_attention_layernorm`);
    lin(`${p}.mlp.gate_proj`, F, C, 'mlp');
    lin(`${p}.mlp.up_proj`, F, C, 'mlp');
    lin(`${p}.mlp.down_proj`, C, F, 'mlp');
  }
  return norm('model.norm').head('lm_head.weight', cfg.vocabSize, C, cfg.tieWordEmbeddings).specs;
}

/**
 * transformers' default _init_weights: Linear/Embedding normal(0, initializer_range), biases 0,
 * LayerNorm γ=1 β=0 (the per-head ones too), the padding token's embedding row 0.
 */
export function initStableLm(cfg: StableLmConfig, rng: Random): Weights {
  return standardInit(stableLmParameters(cfg), rng, { std: cfg.initializerRange, padTokenId: cfg.padTokenId });
}

type Param = (name: string) => Value;

/**
 * StableLmLayerNormPerHead: each head normalised over head_dim with its own weight (no bias).
 * LayerNormalization's scale must span the normalised axis only, so the heads' weights are
 * applied after it, stacked as [h, 1, D] to broadcast over [B, h, S, D].
 */
function perHeadLayerNorm(g: Graph, prefix: string, x: Value, name: string, heads: number, cfg: StableLmConfig, param: Param): Value {
  const D = cfg.headDim;
  const ones = g.constant('float32', [D], new Float32Array(D).fill(1), `/const/layer_norm/ones_${D}`);
  const zeros = g.constant('float32', [D], new Float32Array(D), `/const/layer_norm/zeros_${D}`);
  const normed = op.layerNorm(g, `${prefix}/LayerNormalization`, x, ones, zeros, cfg.layerNormEps);
  const weights = Array.from({ length: heads }, (_, h) => param(`${name}.norms.${h}.weight`));
  const gamma = op.reshape(g, `${prefix}/weights/Reshape`, op.concat(g, `${prefix}/weights/Concat`, weights, 0), [heads, 1, D]);
  return op.mul(g, `${prefix}/Mul`, normed, gamma);
}

function selfAttention(g: Graph, i: number, cfg: StableLmConfig, x: Value, io: DecoderInputs, rope: RotaryTables, param: Param) {
  const P = `/model/layers.${i}/self_attn`;
  const n = `model.layers.${i}.self_attn`;
  const { numHeads: H, numKvHeads: Hkv, headDim: D, rotaryDim } = cfg;
  const proj = (name: string, heads: number) => {
    const y = linear(g, `${P}/${name}`, x, param(`${n}.${name}.weight`), cfg.qkvBias ? param(`${n}.${name}.bias`) : undefined);
    return splitHeads(g, `${P}/${name[0]}`, y, heads, D);
  };
  const headNorm = (v: Value, name: string, heads: number) => (cfg.qkLayerNorm ? perHeadLayerNorm(g, `${P}/${name}`, v, `${n}.${name}`, heads, cfg, param) : v);
  const q = applyPartialRotary(g, `${P}/q_rotary`, headNorm(proj('q_proj', H), 'q_layernorm', H), rope);
  const k = applyPartialRotary(g, `${P}/k_rotary`, headNorm(proj('k_proj', Hkv), 'k_layernorm', Hkv), rope);
  const key = appendCache(g, `${P}/present_key/Concat`, io.past[i].key, k);
  const value = appendCache(g, `${P}/present_value/Concat`, io.past[i].value, proj('v_proj', Hkv));
  const ctx = attention(g, P, q, key, value, io.attentionBias, cfg);
  return { out: linear(g, `${P}/o_proj`, ctx, param(`${n}.o_proj.weight`)), key, value };
}

/** SwiGLU: down(silu(gate(x)) · up(x)). */
function mlp(g: Graph, i: number, x: Value, param: Param): Value {
  const P = `/model/layers.${i}/mlp`;
  const n = `model.layers.${i}.mlp`;
  const gate = linear(g, `${P}/gate_proj`, x, param(`${n}.gate_proj.weight`));
  const silu = op.mul(g, `${P}/act/Mul`, gate, op.sigmoid(g, `${P}/act/Sigmoid`, gate));
  const up = linear(g, `${P}/up_proj`, x, param(`${n}.up_proj.weight`));
  return linear(g, `${P}/down_proj`, op.mul(g, `${P}/gate_up/Mul`, silu, up), param(`${n}.down_proj.weight`));
}

export function stableLmForward(g: Graph, cfg: StableLmConfig, io: DecoderInputs, options: ForwardOptions): DecoderOutputs {
  const shapes = new Map(stableLmParameters(cfg).map((p) => [p.name, p.shape]));
  const param = (name: string) => g.param(name, shapes.get(name)!);
  const ln = (prefix: string, x: Value, name: string) =>
    op.layerNorm(g, `${prefix}/LayerNormalization`, x, param(`${name}.weight`), param(`${name}.bias`), cfg.layerNormEps);
  const embed = param('model.embed_tokens.weight');
  let h = op.gather(g, '/model/embed_tokens/Gather', embed, io.inputIds);
  const rope = rotaryTables(g, '/model/rotary_emb', io.positionIds, inverseFrequencies(cfg.ropeTheta, cfg.ropeScaling, cfg.rotaryDim));
  const present: DecoderOutputs['present'] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    const L = `/model/layers.${i}`;
    const n = `model.layers.${i}`;
    const a = ln(`${L}/input_layernorm`, h, `${n}.input_layernorm`);
    const attn = selfAttention(g, i, cfg, a, io, rope, param);
    if (cfg.parallelResidual) {
      h = op.add(g, `${L}/residual/Add`, op.add(g, `${L}/attn/residual/Add`, h, attn.out), mlp(g, i, a, param));
    } else {
      h = op.add(g, `${L}/self_attn/residual/Add`, h, attn.out);
      h = op.add(g, `${L}/mlp/residual/Add`, h, mlp(g, i, ln(`${L}/post_attention_layernorm`, h, `${n}.post_attention_layernorm`), param));
    }
    present.push({ key: attn.key, value: attn.value });
  }
  if (options.logits === 'last') h = lastPosition(g, '/model/last_position', h);
  h = ln('/model/norm', h, 'model.norm');
  return { logits: linear(g, '/lm_head', h, cfg.tieWordEmbeddings ? embed : param('lm_head.weight')), present };
}

/** The plain-TypeScript forward the graph is checked against. */
export function stableLmReference(cfg: StableLmConfig, w: Weights, ids: number[]): Float32Array {
  const { hiddenSize: C, numHeads: H, numKvHeads: Hkv, headDim: D, intermediateSize: F, vocabSize: V, rotaryDim: R } = cfg;
  const invFreq = inverseFrequencies(cfg.ropeTheta, cfg.ropeScaling, R);
  const embed = ref.get(w, 'model.embed_tokens.weight');
  const opt = (name: string) => w.get(name)?.data;
  const zeros = new Float32Array(D);
  let hs: ref.Vec[] = ids.map((id) => Float64Array.from(embed.subarray(id * C, (id + 1) * C)));
  for (let i = 0; i < cfg.numLayers; i++) {
    const n = `model.layers.${i}`;
    const lin = (x: ref.Vec, name: string, inDim: number, outDim: number) => ref.matVecOutIn(x, ref.get(w, `${n}.${name}.weight`), inDim, outDim, opt(`${n}.${name}.bias`));
    const norm = (x: ref.Vec, name: string) => ref.layerNorm(x, ref.get(w, `${n}.${name}.weight`), ref.get(w, `${n}.${name}.bias`), cfg.layerNormEps);
    const headNorm = (x: ref.Vec, heads: number, name: string) => {
      if (!cfg.qkLayerNorm) return x;
      const out = new Float64Array(x.length);
      for (let h = 0; h < heads; h++) out.set(ref.layerNorm(x.subarray(h * D, (h + 1) * D), ref.get(w, `${n}.${name}.norms.${h}.weight`), zeros, cfg.layerNormEps), h * D);
      return out;
    };
    const mlp = (x: ref.Vec) => {
      const gate = lin(x, 'mlp.gate_proj', C, F);
      const up = lin(x, 'mlp.up_proj', C, F);
      return lin(gate.map((z, j) => (z / (1 + Math.exp(-z))) * up[j]), 'mlp.down_proj', F, C);
    };
    const normed = hs.map((h) => norm(h, 'input_layernorm'));
    const q = normed.map((x, t) => ref.rotate(headNorm(lin(x, 'self_attn.q_proj', C, C), H, 'self_attn.q_layernorm'), H, D, t, invFreq));
    const k = normed.map((x, t) => ref.rotate(headNorm(lin(x, 'self_attn.k_proj', C, Hkv * D), Hkv, 'self_attn.k_layernorm'), Hkv, D, t, invFreq));
    const ctx = ref.causalAttention(q, k, normed.map((x) => lin(x, 'self_attn.v_proj', C, Hkv * D)), H, Hkv, D);
    hs = hs.map((h, t) => {
      const a = lin(ctx[t], 'self_attn.o_proj', C, C);
      const h1 = h.map((x, c) => x + a[c]);
      const m = mlp(cfg.parallelResidual ? normed[t] : norm(h1, 'post_attention_layernorm'));
      return h1.map((x, c) => x + m[c]);
    });
  }
  const final = hs.map((h) => ref.layerNorm(h, ref.get(w, 'model.norm.weight'), ref.get(w, 'model.norm.bias'), cfg.layerNormEps));
  return ref.logitsFrom(final, cfg.tieWordEmbeddings ? embed : ref.get(w, 'lm_head.weight'), V, C);
}

export const stablelm: Architecture<StableLmConfig> = {
  modelType: 'stablelm',
  hfClass: 'StableLmForCausalLM',
  normalizeConfig: normalizeStableLmConfig,
  parameters: stableLmParameters,
  init: initStableLm,
  forward: stableLmForward,
  reference: stableLmReference,
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
    // StableLM-3B's 6912 for 2560 is LLaMA's rule.
    intermediateFor: llamaIntermediate,
    freshConfig: (cur) => ({
      hidden_act: 'silu', layer_norm_eps: 1e-5, use_qkv_bias: false, qk_layernorm: false, use_parallel_residual: false,
      rope_parameters: { rope_type: 'default', rope_theta: 10000, partial_rotary_factor: partialRotaryFactorFor(cur.hiddenSize / cur.numHeads, 0.25) },
    }),
  },
  gguf: {
    arch: 'stablelm',
    // StableLM 2's tokenizer; StableLM-3B-4E1T's GPT-NeoX one would be 'gpt-2'.
    tokenizerPre: 'stablelm2',
    // llama.cpp's stablelm reads output.weight, tied or not.
    writesTiedHead: true,
    tensorNames: [
      [/^model\.embed_tokens\.weight$/, 'token_embd.weight'],
      [/^model\.layers\.(\d+)\.input_layernorm\.(weight|bias)$/, 'blk.$1.attn_norm.$2'],
      [/^model\.layers\.(\d+)\.self_attn\.q_proj\.(weight|bias)$/, 'blk.$1.attn_q.$2'],
      [/^model\.layers\.(\d+)\.self_attn\.k_proj\.(weight|bias)$/, 'blk.$1.attn_k.$2'],
      [/^model\.layers\.(\d+)\.self_attn\.v_proj\.(weight|bias)$/, 'blk.$1.attn_v.$2'],
      [/^model\.layers\.(\d+)\.self_attn\.o_proj\.weight$/, 'blk.$1.attn_output.weight'],
      [/^model\.layers\.(\d+)\.post_attention_layernorm\.(weight|bias)$/, 'blk.$1.ffn_norm.$2'],
      [/^model\.layers\.(\d+)\.mlp\.gate_proj\.weight$/, 'blk.$1.ffn_gate.weight'],
      [/^model\.layers\.(\d+)\.mlp\.up_proj\.weight$/, 'blk.$1.ffn_up.weight'],
      [/^model\.layers\.(\d+)\.mlp\.down_proj\.weight$/, 'blk.$1.ffn_down.weight'],
      [/^model\.norm\.(weight|bias)$/, 'output_norm.$1'],
      [/^lm_head\.weight$/, 'output.weight'],
    ],
    // NEOX rope in llama.cpp's stablelm: q/k rows stay as they are. Its graph runs the MLP in
    // parallel exactly when a block has no ffn_norm, as use_parallel_residual leaves it.
    hyperparameters: (cfg) => {
      // llama.cpp stacks the per-head norms into one [heads, head_dim] tensor per layer; the exporter writes tensors one to one.
      if (cfg.qkLayerNorm) throw new UserError('--export_format gguf: stablelm\'s per-head qk_layernorm is not supported in GGUF export yet; use onnx or safetensors');
      return [
        ['feed_forward_length', { type: 'u32', value: cfg.intermediateSize }],
        ['attention.head_count_kv', { type: 'u32', value: cfg.numKvHeads }],
        ['rope.dimension_count', { type: 'u32', value: cfg.rotaryDim }],
        ['rope.freq_base', { type: 'f32', value: cfg.ropeTheta }],
        ...ggufRopeScaling(cfg.ropeScaling),
        ['use_parallel_residual', { type: 'bool', value: cfg.parallelResidual }],
        ['attention.layer_norm_epsilon', { type: 'f32', value: cfg.layerNormEps }],
      ];
    },
  },
};
