/**
 * StarCoder2 (model_type "starcoder2"): pre-LayerNorm blocks with biases, rotary positions over
 * the whole head, grouped-query attention, biases on every projection when use_bias (the
 * default), a GELU MLP (c_fc/c_proj, gelu_pytorch_tanh), sliding-window attention on every
 * layer when sliding_window is set, head tied to the embeddings by default.
 */
import type { Random } from '../core/random.js';
import type { GgufValue } from '../export/gguf-format.js';
import { UserError } from '../core/tool.js';
import type { Graph, Value } from '../graph/builder.js';
import { appendCache, applyRotary, attention, attentionBias, lastPosition, linear, rotaryTables, splitHeads, type RotaryTables } from '../graph/layers.js';
import * as op from '../graph/ops.js';
import { geluApproximation } from './activation.js';
import { ggufRopeScaling, inverseFrequencies, readRope, type RopeConfig } from './rope.js';
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

export interface Starcoder2Config extends DecoderConfig, RopeConfig {
  intermediateSize: number;
  normEpsilon: number;
  geluApproximate: 'tanh' | 'none';
  /** Biases on q/k/v/o and the MLP (use_bias). */
  useBias: boolean;
  /** Every layer's attention window, or null for full causal attention. */
  slidingWindow: number | null;
  /** The embedding row zeroed at init (pad_token_id), if any. */
  padTokenId: number | null;
}

export function normalizeStarcoder2Config(raw: Record<string, unknown>): Starcoder2Config {
  const where = 'starcoder2 config.json';
  const r = new ConfigReader(raw, where);
  const hiddenSize = r.int('hidden_size', 3072);
  const numHeads = r.int('num_attention_heads', 24);
  const numKvHeads = r.int('num_key_value_heads', 2);
  r.divisible('num_attention_heads', numHeads, numKvHeads, 'num_key_value_heads');
  if (!r.has('head_dim')) r.divisible('hidden_size', hiddenSize, numHeads, 'num_attention_heads');
  const headDim = r.int('head_dim', hiddenSize / numHeads);
  if (headDim % 2 !== 0) throw new UserError(`${where}: head_dim (${headDim}) must be even for rotary embeddings`);
  const pad = r.tokenIds('pad_token_id');
  return {
    modelType: 'starcoder2',
    vocabSize: r.int('vocab_size', 49152),
    hiddenSize,
    numLayers: r.int('num_hidden_layers', 30),
    numHeads,
    numKvHeads,
    headDim,
    maxPositions: r.int('max_position_embeddings', 4096),
    intermediateSize: r.int('intermediate_size', 12288),
    normEpsilon: r.number('norm_epsilon', 1e-5),
    geluApproximate: geluApproximation(raw.hidden_act ?? 'gelu_pytorch_tanh', where, 'hidden_act'),
    useBias: r.bool('use_bias', true),
    slidingWindow: r.has('sliding_window') ? r.int('sliding_window') : null,
    ...readRope(raw, 'starcoder2', 10000),
    tieWordEmbeddings: r.bool('tie_word_embeddings', true),
    initializerRange: r.number('initializer_range', 0.018042),
    bosTokenId: r.tokenIds('bos_token_id') as number | null,
    eosTokenId: r.tokenIds('eos_token_id'),
    padTokenId: typeof pad === 'number' ? pad : null,
  };
}

export function starcoder2Parameters(cfg: Starcoder2Config): ParamSpec[] {
  const { hiddenSize: C, intermediateSize: F, headDim: D } = cfg;
  const Q = cfg.numHeads * D;
  const KV = cfg.numKvHeads * D;
  const params = new ParamList().add({ name: 'model.embed_tokens.weight', shape: [cfg.vocabSize, C], role: 'token_embedding' });
  const norm = (name: string) => params.norm(name, C, true);
  const lin = (name: string, out: number, inp: number, role: 'attention' | 'mlp') => params.linear(name, out, inp, role, { bias: cfg.useBias });
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `model.layers.${i}`;
    norm(`${p}.input_layernorm`);
    lin(`${p}.self_attn.q_proj`, Q, C, 'attention');
    lin(`${p}.self_attn.k_proj`, KV, C, 'attention');
    lin(`${p}.self_attn.v_proj`, KV, C, 'attention');
    lin(`${p}.self_attn.o_proj`, C, Q, 'attention');
    norm(`${p}.post_attention_layernorm`);
    lin(`${p}.mlp.c_fc`, F, C, 'mlp');
    lin(`${p}.mlp.c_proj`, C, F, 'mlp');
  }
  return norm('model.norm').head('lm_head.weight', cfg.vocabSize, C, cfg.tieWordEmbeddings).specs;
}

/**
 * transformers' default _init_weights: Linear/Embedding normal(0, initializer_range), biases 0,
 * LayerNorm γ=1 β=0, the padding token's embedding row 0.
 */
export function initStarcoder2(cfg: Starcoder2Config, rng: Random): Weights {
  return standardInit(starcoder2Parameters(cfg), rng, { std: cfg.initializerRange, padTokenId: cfg.padTokenId });
}

type Param = (name: string) => Value;

function selfAttention(g: Graph, i: number, cfg: Starcoder2Config, x: Value, io: DecoderInputs, bias: Value, rope: RotaryTables, param: Param) {
  const P = `/model/layers.${i}/self_attn`;
  const n = `model.layers.${i}.self_attn`;
  const { numHeads: H, numKvHeads: Hkv, headDim: D } = cfg;
  const proj = (name: string, input: Value) => linear(g, `${P}/${name}`, input, param(`${n}.${name}.weight`), cfg.useBias ? param(`${n}.${name}.bias`) : undefined);
  const q = applyRotary(g, `${P}/q_rotary`, splitHeads(g, `${P}/q`, proj('q_proj', x), H, D), rope);
  const k = applyRotary(g, `${P}/k_rotary`, splitHeads(g, `${P}/k`, proj('k_proj', x), Hkv, D), rope);
  const key = appendCache(g, `${P}/present_key/Concat`, io.past[i].key, k);
  const value = appendCache(g, `${P}/present_value/Concat`, io.past[i].value, splitHeads(g, `${P}/v`, proj('v_proj', x), Hkv, D));
  return { out: proj('o_proj', attention(g, P, q, key, value, bias, cfg)), key, value };
}

function mlp(g: Graph, i: number, cfg: Starcoder2Config, x: Value, param: Param): Value {
  const P = `/model/layers.${i}/mlp`;
  const n = `model.layers.${i}.mlp`;
  const proj = (name: string, input: Value) => linear(g, `${P}/${name}`, input, param(`${n}.${name}.weight`), cfg.useBias ? param(`${n}.${name}.bias`) : undefined);
  return proj('c_proj', op.gelu(g, `${P}/act/Gelu`, proj('c_fc', x), cfg.geluApproximate));
}

export function starcoder2Forward(g: Graph, cfg: Starcoder2Config, io: DecoderInputs, options: ForwardOptions): DecoderOutputs {
  const shapes = new Map(starcoder2Parameters(cfg).map((p) => [p.name, p.shape]));
  const param = (name: string) => g.param(name, shapes.get(name)!);
  const ln = (prefix: string, x: Value, name: string) =>
    op.layerNorm(g, `${prefix}/LayerNormalization`, x, param(`${name}.weight`), param(`${name}.bias`), cfg.normEpsilon);
  const embed = param('model.embed_tokens.weight');
  let h = op.gather(g, '/model/embed_tokens/Gather', embed, io.inputIds);
  const rope = rotaryTables(g, '/model/rotary_emb', io.positionIds, inverseFrequencies(cfg.ropeTheta, cfg.ropeScaling, cfg.headDim));
  const w = cfg.slidingWindow;
  const bias = w === null ? io.attentionBias : attentionBias(g, `/model/sliding_mask_${w}`, io.inputIds, io.attentionMask, w);
  const present: DecoderOutputs['present'] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    const L = `/model/layers.${i}`;
    const n = `model.layers.${i}`;
    const attn = selfAttention(g, i, cfg, ln(`${L}/input_layernorm`, h, `${n}.input_layernorm`), io, bias, rope, param);
    h = op.add(g, `${L}/self_attn/residual/Add`, h, attn.out);
    h = op.add(g, `${L}/mlp/residual/Add`, h, mlp(g, i, cfg, ln(`${L}/post_attention_layernorm`, h, `${n}.post_attention_layernorm`), param));
    present.push({ key: attn.key, value: attn.value });
  }
  if (options.logits === 'last') h = lastPosition(g, '/model/last_position', h);
  h = ln('/model/norm', h, 'model.norm');
  return { logits: linear(g, '/lm_head', h, cfg.tieWordEmbeddings ? embed : param('lm_head.weight')), present };
}

/** The plain-TypeScript forward the graph is checked against. */
export function starcoder2Reference(cfg: Starcoder2Config, w: Weights, ids: number[]): Float32Array {
  const { hiddenSize: C, numHeads: H, numKvHeads: Hkv, headDim: D, intermediateSize: F, vocabSize: V } = cfg;
  const invFreq = inverseFrequencies(cfg.ropeTheta, cfg.ropeScaling, D);
  const embed = ref.get(w, 'model.embed_tokens.weight');
  const opt = (name: string) => w.get(name)?.data;
  const gelu = cfg.geluApproximate === 'tanh' ? ref.geluTanh : ref.geluExact;
  let hs: ref.Vec[] = ids.map((id) => Float64Array.from(embed.subarray(id * C, (id + 1) * C)));
  for (let i = 0; i < cfg.numLayers; i++) {
    const n = `model.layers.${i}`;
    const lin = (x: ref.Vec, name: string, inDim: number, outDim: number) => ref.matVecOutIn(x, ref.get(w, `${n}.${name}.weight`), inDim, outDim, opt(`${n}.${name}.bias`));
    const norm = (x: ref.Vec, name: string) => ref.layerNorm(x, ref.get(w, `${n}.${name}.weight`), ref.get(w, `${n}.${name}.bias`), cfg.normEpsilon);
    const normed = hs.map((h) => norm(h, 'input_layernorm'));
    const q = normed.map((x, t) => ref.rotate(lin(x, 'self_attn.q_proj', C, H * D), H, D, t, invFreq));
    const k = normed.map((x, t) => ref.rotate(lin(x, 'self_attn.k_proj', C, Hkv * D), Hkv, D, t, invFreq));
    const v = normed.map((x) => lin(x, 'self_attn.v_proj', C, Hkv * D));
    const ctx = ref.causalAttention(q, k, v, H, Hkv, D, { window: cfg.slidingWindow });
    hs = hs.map((h, t) => {
      const a = lin(ctx[t], 'self_attn.o_proj', H * D, C);
      const h1 = h.map((x, c) => x + a[c]);
      const m = lin(lin(norm(h1, 'post_attention_layernorm'), 'mlp.c_fc', C, F).map(gelu), 'mlp.c_proj', F, C);
      return h1.map((x, c) => x + m[c]);
    });
  }
  const final = hs.map((h) => ref.layerNorm(h, ref.get(w, 'model.norm.weight'), ref.get(w, 'model.norm.bias'), cfg.normEpsilon));
  return ref.logitsFrom(final, cfg.tieWordEmbeddings ? embed : ref.get(w, 'lm_head.weight'), V, C);
}

export const starcoder2: Architecture<Starcoder2Config> = {
  modelType: 'starcoder2',
  hfClass: 'Starcoder2ForCausalLM',
  normalizeConfig: normalizeStarcoder2Config,
  parameters: starcoder2Parameters,
  init: initStarcoder2,
  forward: starcoder2Forward,
  reference: starcoder2Reference,
  reshape: {
    keys: {
      layers: 'num_hidden_layers', hidden: 'hidden_size', heads: 'num_attention_heads',
      kvHeads: 'num_key_value_heads', inner: 'intermediate_size', positions: 'max_position_embeddings',
    },
    intermediateFor: (hidden) => 4 * hidden,
    freshConfig: () => ({ hidden_act: 'gelu_pytorch_tanh', norm_epsilon: 1e-5, use_bias: true, sliding_window: null, rope_theta: 10000 }),
  },
  gguf: {
    arch: 'starcoder2',
    tokenizerPre: 'starcoder',
    tensorNames: [
      [/^model\.embed_tokens\.weight$/, 'token_embd.weight'],
      [/^model\.layers\.(\d+)\.input_layernorm\.(weight|bias)$/, 'blk.$1.attn_norm.$2'],
      [/^model\.layers\.(\d+)\.self_attn\.q_proj\.(weight|bias)$/, 'blk.$1.attn_q.$2'],
      [/^model\.layers\.(\d+)\.self_attn\.k_proj\.(weight|bias)$/, 'blk.$1.attn_k.$2'],
      [/^model\.layers\.(\d+)\.self_attn\.v_proj\.(weight|bias)$/, 'blk.$1.attn_v.$2'],
      [/^model\.layers\.(\d+)\.self_attn\.o_proj\.(weight|bias)$/, 'blk.$1.attn_output.$2'],
      [/^model\.layers\.(\d+)\.post_attention_layernorm\.(weight|bias)$/, 'blk.$1.ffn_norm.$2'],
      [/^model\.layers\.(\d+)\.mlp\.c_fc\.(weight|bias)$/, 'blk.$1.ffn_up.$2'],
      [/^model\.layers\.(\d+)\.mlp\.c_proj\.(weight|bias)$/, 'blk.$1.ffn_down.$2'],
      [/^model\.norm\.(weight|bias)$/, 'output_norm.$1'],
      [/^lm_head\.weight$/, 'output.weight'],
    ],
    // NEOX rope in llama.cpp's starcoder2: q/k rows stay as they are.
    hyperparameters: (cfg) => {
      // llama.cpp's starcoder2 loads the output and MLP biases as required tensors.
      if (!cfg.useBias) throw new UserError('--export_format gguf: llama.cpp\'s starcoder2 needs the projection biases (this config has use_bias false); use onnx or safetensors');
      const kv: [string, GgufValue][] = [
        ['feed_forward_length', { type: 'u32', value: cfg.intermediateSize }],
        ['attention.head_count_kv', { type: 'u32', value: cfg.numKvHeads }],
        ['attention.layer_norm_epsilon', { type: 'f32', value: cfg.normEpsilon }],
        ['rope.freq_base', { type: 'f32', value: cfg.ropeTheta }],
        ...ggufRopeScaling(cfg.ropeScaling),
      ];
      if (cfg.headDim * cfg.numHeads !== cfg.hiddenSize) kv.push(['attention.key_length', { type: 'u32', value: cfg.headDim }], ['attention.value_length', { type: 'u32', value: cfg.headDim }]);
      // llama.cpp's starcoder2 attends to the whole context (no window), so it is the same
      // model only up to the window: that is declared as the trained context (this entry
      // replaces the exporter's max_position_embeddings under the same key).
      if (cfg.slidingWindow !== null && cfg.slidingWindow < cfg.maxPositions) kv.push(['context_length', { type: 'u32', value: cfg.slidingWindow }]);
      return kv;
    },
  },
};
