/**
 * OPT (model_type "opt", facebook/opt-*): learned position embeddings offset by 2 (fairseq's
 * padding rows), LayerNorm before (do_layer_norm_before, most sizes) or after (opt-350m) each
 * sub-block, biases everywhere (enable_bias), a ReLU MLP (fc1/fc2), and where
 * word_embed_proj_dim differs from hidden_size a project_in/project_out pair around the
 * blocks, so the embedding and the tied head live in the smaller width. Weights keep
 * OPTForCausalLM's names (`model.decoder.*`, torch Linear [out, in]).
 */
import type { Random } from '../core/random.js';
import { UserError } from '../core/tool.js';
import type { Graph, Value } from '../graph/builder.js';
import { appendCache, attention, lastPosition, linear, splitHeads } from '../graph/layers.js';
import * as op from '../graph/ops.js';
import { activate, activationFn, readActivation, type Activation } from './activation.js';
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

/** OPTLearnedPositionalEmbedding looks position p up at row p + 2. */
const POSITION_OFFSET = 2;
const LN_EPS = 1e-5; // nn.LayerNorm's default; OPT's config has no epsilon

export interface OptConfig extends DecoderConfig {
  modelType: 'opt';
  /** fc1's width (ffn_dim). */
  ffnDim: number;
  /** Pre-LN (true) or post-LN blocks. */
  layerNormBefore: boolean;
  /** The final LayerNorm exists only with pre-LN blocks (and not _remove_final_layer_norm). */
  finalLayerNorm: boolean;
  /** Biases on every projection (enable_bias). */
  bias: boolean;
  /** The embedding/head width (word_embed_proj_dim); ≠ hiddenSize adds project_in/project_out. */
  wordEmbedDim: number;
  activation: Activation;
  /** The embedding row zeroed at init (pad_token_id), if any. */
  padTokenId: number | null;
}

export function normalizeOptConfig(raw: Record<string, unknown>): OptConfig {
  const where = 'opt config.json';
  const r = new ConfigReader(raw, where);
  const hiddenSize = r.int('hidden_size', 768);
  const numHeads = r.int('num_attention_heads', 12);
  r.divisible('hidden_size', hiddenSize, numHeads, 'num_attention_heads');
  if (!r.bool('layer_norm_elementwise_affine', true)) {
    throw new UserError(`${where}: layer_norm_elementwise_affine false (LayerNorms without weights) is not supported; set it to true`);
  }
  const layerNormBefore = r.bool('do_layer_norm_before', true);
  const pad = r.tokenIds('pad_token_id');
  const padTokenId = raw.pad_token_id === undefined ? 1 : typeof pad === 'number' ? pad : null;
  return {
    modelType: 'opt',
    vocabSize: r.int('vocab_size', 50272),
    hiddenSize,
    numLayers: r.int('num_hidden_layers', 12),
    numHeads,
    numKvHeads: numHeads,
    headDim: hiddenSize / numHeads,
    maxPositions: r.int('max_position_embeddings', 2048),
    ffnDim: r.int('ffn_dim', 3072),
    layerNormBefore,
    finalLayerNorm: layerNormBefore && !r.bool('_remove_final_layer_norm', false),
    bias: r.bool('enable_bias', true),
    wordEmbedDim: r.int('word_embed_proj_dim', hiddenSize),
    activation: readActivation(raw, 'activation_function', 'relu', where),
    tieWordEmbeddings: r.bool('tie_word_embeddings', true),
    // OPTConfig calls it init_std.
    initializerRange: r.number('init_std', 0.02),
    bosTokenId: raw.bos_token_id === undefined ? 2 : (r.tokenIds('bos_token_id') as number | null),
    eosTokenId: raw.eos_token_id === undefined ? 2 : r.tokenIds('eos_token_id'),
    padTokenId,
  };
}

const projected = (cfg: OptConfig) => cfg.wordEmbedDim !== cfg.hiddenSize;

export function optParameters(cfg: OptConfig): ParamSpec[] {
  const C = cfg.hiddenSize;
  const P = cfg.wordEmbedDim;
  const F = cfg.ffnDim;
  const d = 'model.decoder';
  const params = new ParamList()
    .add({ name: `${d}.embed_tokens.weight`, shape: [cfg.vocabSize, P], role: 'token_embedding' })
    .add({ name: `${d}.embed_positions.weight`, shape: [cfg.maxPositions + POSITION_OFFSET, C], role: 'position_embedding' });
  const norm = (name: string) => params.norm(name, C, true);
  const lin = (name: string, out: number, inp: number, role: 'attention' | 'mlp', bias = cfg.bias) => params.linear(name, out, inp, role, { bias });
  // The width projections are plain linear maps outside the blocks; 'mlp' is the nearest role.
  if (projected(cfg)) lin(`${d}.project_in`, C, P, 'mlp', false);
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `${d}.layers.${i}`;
    for (const x of ['k', 'v', 'q', 'out']) lin(`${p}.self_attn.${x}_proj`, C, C, 'attention');
    norm(`${p}.self_attn_layer_norm`);
    lin(`${p}.fc1`, F, C, 'mlp');
    lin(`${p}.fc2`, C, F, 'mlp');
    norm(`${p}.final_layer_norm`);
  }
  if (cfg.finalLayerNorm) norm(`${d}.final_layer_norm`);
  if (projected(cfg)) lin(`${d}.project_out`, P, C, 'mlp', false);
  return params.head('lm_head.weight', cfg.vocabSize, P, cfg.tieWordEmbeddings).specs;
}

/**
 * OPTPreTrainedModel uses PreTrainedModel._init_weights with init_std: Linear and Embedding
 * weights normal(0, init_std), biases 0, LayerNorm γ = 1, β = 0, the padding token's row 0.
 */
export function initOpt(cfg: OptConfig, rng: Random) {
  return standardInit(optParameters(cfg), rng, { std: cfg.initializerRange, padTokenId: cfg.padTokenId });
}

type Param = (name: string) => Value;
const maybe = (param: Param, name: string, present: boolean) => (present ? param(name) : undefined);

/** One block, pre-LN: h + attn(ln(h)), then + fc2(act(fc1(ln(·)))); post-LN: ln(h + attn(h)), then ln(· + mlp(·)). */
function block(g: Graph, i: number, cfg: OptConfig, h: Value, io: DecoderInputs, param: Param) {
  const L = `/model/decoder/layers.${i}`;
  const n = `model.decoder.layers.${i}`;
  const { numHeads: H, headDim: D } = cfg;
  const ln = (name: string, x: Value) => op.layerNorm(g, `${L}/${name}/LayerNormalization`, x, param(`${n}.${name}.weight`), param(`${n}.${name}.bias`), LN_EPS);
  const proj = (name: string, x: Value) => linear(g, `${L}/${name}`, x, param(`${n}.${name}.weight`), maybe(param, `${n}.${name}.bias`, cfg.bias));

  const a = cfg.layerNormBefore ? ln('self_attn_layer_norm', h) : h;
  const A = `${L}/self_attn`;
  const heads = (x: string) => splitHeads(g, `${A}/${x}`, proj(`self_attn.${x}_proj`, a), H, D);
  const key = appendCache(g, `${A}/present_key/Concat`, io.past[i].key, heads('k'));
  const value = appendCache(g, `${A}/present_value/Concat`, io.past[i].value, heads('v'));
  const ctx = attention(g, A, heads('q'), key, value, io.attentionBias, cfg);
  let h1 = op.add(g, `${A}/residual/Add`, h, proj('self_attn.out_proj', ctx));
  if (!cfg.layerNormBefore) h1 = ln('self_attn_layer_norm', h1);

  const m = cfg.layerNormBefore ? ln('final_layer_norm', h1) : h1;
  const out = proj('fc2', activate(g, `${L}/activation_fn`, proj('fc1', m), cfg.activation));
  let h2 = op.add(g, `${L}/mlp/residual/Add`, h1, out);
  if (!cfg.layerNormBefore) h2 = ln('final_layer_norm', h2);
  return { h: h2, key, value };
}

export function optForward(g: Graph, cfg: OptConfig, io: DecoderInputs, options: ForwardOptions): DecoderOutputs {
  const shapes = new Map(optParameters(cfg).map((p) => [p.name, p.shape]));
  const param = (name: string) => g.param(name, shapes.get(name)!);
  const D = '/model/decoder';
  const embed = param('model.decoder.embed_tokens.weight');
  let tokens = op.gather(g, `${D}/embed_tokens/Gather`, embed, io.inputIds);
  if (projected(cfg)) tokens = linear(g, `${D}/project_in`, tokens, param('model.decoder.project_in.weight'));
  const rows = op.add(g, `${D}/embed_positions/offset/Add`, io.positionIds, g.int64(POSITION_OFFSET));
  let h = op.add(g, `${D}/embed/Add`, tokens, op.gather(g, `${D}/embed_positions/Gather`, param('model.decoder.embed_positions.weight'), rows));
  const present: DecoderOutputs['present'] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    const out = block(g, i, cfg, h, io, param);
    h = out.h;
    present.push({ key: out.key, value: out.value });
  }
  if (options.logits === 'last') h = lastPosition(g, `${D}/last_position`, h);
  if (cfg.finalLayerNorm) {
    h = op.layerNorm(g, `${D}/final_layer_norm/LayerNormalization`, h, param('model.decoder.final_layer_norm.weight'), param('model.decoder.final_layer_norm.bias'), LN_EPS);
  }
  if (projected(cfg)) h = linear(g, `${D}/project_out`, h, param('model.decoder.project_out.weight'));
  return { logits: linear(g, '/lm_head', h, cfg.tieWordEmbeddings ? embed : param('lm_head.weight')), present };
}

/** The plain-TypeScript forward the graph is checked against. */
export function optReference(cfg: OptConfig, w: Weights, ids: number[]): Float32Array {
  const { hiddenSize: C, wordEmbedDim: P, numHeads: H, headDim: D, ffnDim: F, vocabSize: V } = cfg;
  const get = (name: string) => ref.get(w, `model.decoder.${name}`);
  const opt = (name: string) => w.get(name)?.data;
  const embed = get('embed_tokens.weight');
  const pos = get('embed_positions.weight');
  const act = activationFn(cfg.activation);
  let hs: ref.Vec[] = ids.map((id, t) => {
    let e: ref.Vec = Float64Array.from(embed.subarray(id * P, (id + 1) * P));
    if (P !== C) e = ref.matVecOutIn(e, get('project_in.weight'), P, C);
    const row = (t + POSITION_OFFSET) * C;
    return e.map((x, c) => x + pos[row + c]);
  });
  for (let i = 0; i < cfg.numLayers; i++) {
    const n = `model.decoder.layers.${i}`;
    const lin = (x: ref.Vec, name: string, inDim: number, outDim: number) =>
      ref.matVecOutIn(x, ref.get(w, `${n}.${name}.weight`), inDim, outDim, opt(`${n}.${name}.bias`));
    const ln = (x: ref.Vec, name: string) => ref.layerNorm(x, ref.get(w, `${n}.${name}.weight`), ref.get(w, `${n}.${name}.bias`), LN_EPS);
    const a = cfg.layerNormBefore ? hs.map((h) => ln(h, 'self_attn_layer_norm')) : hs;
    const [q, k, v] = ['q', 'k', 'v'].map((x) => a.map((y) => lin(y, `self_attn.${x}_proj`, C, C)));
    const ctx = ref.causalAttention(q, k, v, H, H, D);
    hs = hs.map((h, t) => {
      const o = lin(ctx[t], 'self_attn.out_proj', C, C);
      let h1: ref.Vec = h.map((x, c) => x + o[c]);
      if (!cfg.layerNormBefore) h1 = ln(h1, 'self_attn_layer_norm');
      const m = cfg.layerNormBefore ? ln(h1, 'final_layer_norm') : h1;
      const out = lin(lin(m, 'fc1', C, F).map(act), 'fc2', F, C);
      const h2 = h1.map((x, c) => x + out[c]);
      return cfg.layerNormBefore ? h2 : ln(h2, 'final_layer_norm');
    });
  }
  let final: ref.Vec[] = cfg.finalLayerNorm ? hs.map((h) => ref.layerNorm(h, get('final_layer_norm.weight'), get('final_layer_norm.bias'), LN_EPS)) : hs;
  if (P !== C) final = final.map((h) => ref.matVecOutIn(h, get('project_out.weight'), C, P));
  return ref.logitsFrom(final, cfg.tieWordEmbeddings ? embed : ref.get(w, 'lm_head.weight'), V, P);
}

/** Checkpoints of the bare OPTModel (`decoder.layers.0…`) lack the `model.` prefix: add it. */
export function sanitizeOpt(weights: Weights): Weights {
  const out: Weights = new Map();
  for (const [name, t] of weights) out.set(name.startsWith('decoder.') ? `model.${name}` : name, t);
  return out;
}

export const opt: Architecture<OptConfig> = {
  modelType: 'opt',
  hfClass: 'OPTForCausalLM',
  normalizeConfig: normalizeOptConfig,
  parameters: optParameters,
  init: initOpt,
  forward: optForward,
  reference: optReference,
  sanitize: sanitizeOpt,
  reshape: {
    keys: { layers: 'num_hidden_layers', hidden: 'hidden_size', heads: 'num_attention_heads', kvHeads: null, inner: 'ffn_dim', positions: 'max_position_embeddings' },
    intermediateFor: (hidden) => 4 * hidden,
    // OPTConfig reads its std from init_std, not the initializer_range the fresh config carries.
    freshConfig: (cur) => ({
      activation_function: 'relu', do_layer_norm_before: true, enable_bias: true, word_embed_proj_dim: null, pad_token_id: null, init_std: cur.initializerRange,
    }),
    // transformers saves word_embed_proj_dim even where it equals the width (no projection): it then
    // follows the width; one of the user's own (opt-350m's 512 in 1024) stays, with project_in/out.
    resized: (out, from, to) => {
      if (out.word_embed_proj_dim === from.hiddenSize) out.word_embed_proj_dim = to.hiddenSize;
    },
  },
  // llama.cpp has no OPT architecture.
};
