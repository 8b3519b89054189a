/**
 * GPT-Neo (model_type "gpt_neo", the TinyStories models): learned position embeddings,
 * pre-LayerNorm blocks, attention layers global or local (a sliding window of window_size)
 * as attention_types lists them, UNSCALED attention scores (no 1/√d: the original Mesh
 * TensorFlow model folded it into the init), q/k/v without bias and out_proj with one, a GELU
 * MLP, head tied to the token embeddings. Weights keep GPTNeoForCausalLM's names (torch Linear,
 * [out, in]); node names follow the module paths (`/transformer/h.0/attn/attention/q_proj/MatMul`).
 */
import type { Random } from '../core/random.js';
import { UserError } from '../core/tool.js';
import type { Graph, Value } from '../graph/builder.js';
import { appendCache, attention, lastPosition, linear, splitHeads, windowedBiases } from '../graph/layers.js';
import * as op from '../graph/ops.js';
import { activate, activationFn, readActivation, type Activation } from './activation.js';
import { continuePattern, repeatingUnit } from './layer-types.js';
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

export interface GptNeoConfig extends DecoderConfig {
  modelType: 'gpt_neo';
  /** MLP width (intermediate_size, default 4·hidden_size). */
  intermediateSize: number;
  layerNormEpsilon: number;
  activation: Activation;
  /** Per layer: window_size for a local layer, null for a global one. */
  slidingWindows: (number | null)[];
}

/**
 * Each layer's attention type. transformers saves the expanded list as attention_layers next to
 * attention_types, and a saved attention_layers is what GPTNeoConfig keeps when it loads; without
 * one, attention_types expands: [[["global", "local"], 12]] (its default) repeats the pattern 12
 * times, 24 layers. Must give exactly one type per layer, as transformers checks.
 */
function attentionLayers(raw: Record<string, unknown>, numLayers: number, where: string): ('global' | 'local')[] {
  const typeOf = (t: unknown) => {
    if (t !== 'global' && t !== 'local') throw new UserError(`${where}: attention type "${String(t)}" is not supported; use global or local`);
    return t;
  };
  const saved = raw.attention_layers;
  const layers: ('global' | 'local')[] = [];
  if (Array.isArray(saved)) layers.push(...saved.map(typeOf));
  else {
    const spec = raw.attention_types ?? [[['global', 'local'], 12]];
    const bad = () => new UserError(`${where}: "attention_types" must look like [[["global", "local"], ${Math.ceil(numLayers / 2)}]], got ${JSON.stringify(spec)}`);
    if (!Array.isArray(spec)) throw bad();
    for (const item of spec) {
      if (!Array.isArray(item) || item.length !== 2 || !Array.isArray(item[0]) || !Number.isInteger(item[1]) || item[1] < 0) throw bad();
      for (let n = 0; n < item[1]; n++) layers.push(...item[0].map(typeOf));
    }
  }
  if (layers.length !== numLayers) {
    const key = Array.isArray(saved) ? 'attention_layers" has' : 'attention_types" expands to';
    throw new UserError(`${where}: "${key} ${layers.length} layers but num_layers is ${numLayers}; make them agree`);
  }
  return layers;
}

export function normalizeGptNeoConfig(raw: Record<string, unknown>): GptNeoConfig {
  const where = 'gpt_neo config.json';
  const r = new ConfigReader(raw, where);
  const hiddenSize = r.int('hidden_size', 2048);
  // GPTNeoConfig maps num_attention_heads / num_hidden_layers onto its own names.
  const numHeads = r.int(r.has('num_heads') ? 'num_heads' : 'num_attention_heads', 16);
  const numLayers = r.int(r.has('num_layers') ? 'num_layers' : 'num_hidden_layers', 24);
  r.divisible('hidden_size', hiddenSize, numHeads, 'num_heads');
  const windowSize = r.int('window_size', 256);
  return {
    modelType: 'gpt_neo',
    vocabSize: r.int('vocab_size', 50257),
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads: numHeads,
    headDim: hiddenSize / numHeads,
    maxPositions: r.int('max_position_embeddings', 2048),
    intermediateSize: r.int('intermediate_size', 4 * hiddenSize),
    layerNormEpsilon: r.number('layer_norm_epsilon', 1e-5),
    activation: readActivation(raw, 'activation_function', 'gelu_new', where),
    slidingWindows: attentionLayers(raw, numLayers, where).map((t) => (t === 'local' ? windowSize : null)),
    tieWordEmbeddings: r.bool('tie_word_embeddings', true),
    initializerRange: r.number('initializer_range', 0.02),
    bosTokenId: r.tokenIds('bos_token_id') as number | null,
    eosTokenId: r.tokenIds('eos_token_id'),
  };
}

export function gptNeoParameters(cfg: GptNeoConfig): ParamSpec[] {
  const C = cfg.hiddenSize;
  const F = cfg.intermediateSize;
  const params = new ParamList()
    .add({ name: 'transformer.wte.weight', shape: [cfg.vocabSize, C], role: 'token_embedding' })
    .add({ name: 'transformer.wpe.weight', shape: [cfg.maxPositions, C], role: 'position_embedding' });
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `transformer.h.${i}`;
    params.norm(`${p}.ln_1`, C, true);
    for (const x of ['q', 'k', 'v']) params.linear(`${p}.attn.attention.${x}_proj`, C, C, 'attention');
    params.linear(`${p}.attn.attention.out_proj`, C, C, 'attention', { bias: true });
    params.norm(`${p}.ln_2`, C, true);
    params.linear(`${p}.mlp.c_fc`, F, C, 'mlp', { bias: true });
    params.linear(`${p}.mlp.c_proj`, C, F, 'mlp', { bias: true });
  }
  return params.norm('transformer.ln_f', C, true).head('lm_head.weight', cfg.vocabSize, C, cfg.tieWordEmbeddings).specs;
}

/**
 * transformers' GPTNeoPreTrainedModel._init_weights is PreTrainedModel's: Linear and Embedding
 * weights normal(0, initializer_range), biases 0, LayerNorm γ = 1, β = 0 (no residual scaling).
 */
export function initGptNeo(cfg: GptNeoConfig, rng: Random) {
  return standardInit(gptNeoParameters(cfg), rng, { std: cfg.initializerRange });
}

type Param = (name: string) => Value;

/** One pre-LN block: h + attn(ln_1(h)), then + mlp(ln_2(·)). Returns the new residual and cache. */
function block(g: Graph, i: number, cfg: GptNeoConfig, h: Value, io: DecoderInputs, bias: Value, param: Param) {
  const P = `/transformer/h.${i}`;
  const A = `${P}/attn/attention`;
  const w = (n: string) => param(`transformer.h.${i}.${n}`);
  const { numHeads: H, headDim: D } = cfg;

  const a = op.layerNorm(g, `${P}/ln_1/LayerNormalization`, h, w('ln_1.weight'), w('ln_1.bias'), cfg.layerNormEpsilon);
  const proj = (x: string) => splitHeads(g, `${A}/${x}`, linear(g, `${A}/${x}_proj`, a, w(`attn.attention.${x}_proj.weight`)), H, D);
  const key = appendCache(g, `${A}/present_key/Concat`, io.past[i].key, proj('k'));
  const value = appendCache(g, `${A}/present_value/Concat`, io.past[i].value, proj('v'));
  const ctx = attention(g, A, proj('q'), key, value, bias, cfg, { scale: 1 });
  const attnOut = linear(g, `${A}/out_proj`, ctx, w('attn.attention.out_proj.weight'), w('attn.attention.out_proj.bias'));
  const h1 = op.add(g, `${P}/attn/residual/Add`, h, attnOut);

  const m = op.layerNorm(g, `${P}/ln_2/LayerNormalization`, h1, w('ln_2.weight'), w('ln_2.bias'), cfg.layerNormEpsilon);
  const fc = linear(g, `${P}/mlp/c_fc`, m, w('mlp.c_fc.weight'), w('mlp.c_fc.bias'));
  const act = activate(g, `${P}/mlp/act`, fc, cfg.activation);
  const mlpOut = linear(g, `${P}/mlp/c_proj`, act, w('mlp.c_proj.weight'), w('mlp.c_proj.bias'));
  return { h: op.add(g, `${P}/mlp/residual/Add`, h1, mlpOut), key, value };
}

export function gptNeoForward(g: Graph, cfg: GptNeoConfig, io: DecoderInputs, options: ForwardOptions): DecoderOutputs {
  const shapes = new Map(gptNeoParameters(cfg).map((p) => [p.name, p.shape]));
  const param = (name: string) => g.param(name, shapes.get(name)!);
  const wte = param('transformer.wte.weight');
  let h = op.add(
    g,
    '/transformer/embed/Add',
    op.gather(g, '/transformer/wte/Gather', wte, io.inputIds),
    op.gather(g, '/transformer/wpe/Gather', param('transformer.wpe.weight'), io.positionIds),
  );
  const biasFor = windowedBiases(g, '/transformer/local_mask', io.inputIds, io.attentionMask, io.attentionBias);
  const present: DecoderOutputs['present'] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    const out = block(g, i, cfg, h, io, biasFor(cfg.slidingWindows[i]), param);
    h = out.h;
    present.push({ key: out.key, value: out.value });
  }
  if (options.logits === 'last') h = lastPosition(g, '/transformer/last_position', h);
  h = op.layerNorm(g, '/transformer/ln_f/LayerNormalization', h, param('transformer.ln_f.weight'), param('transformer.ln_f.bias'), cfg.layerNormEpsilon);
  return { logits: linear(g, '/lm_head', h, cfg.tieWordEmbeddings ? wte : param('lm_head.weight')), present };
}

/** The plain-TypeScript forward the graph is checked against. */
export function gptNeoReference(cfg: GptNeoConfig, w: Weights, ids: number[]): Float32Array {
  const { hiddenSize: C, numHeads: H, headDim: D, intermediateSize: F, vocabSize: V } = cfg;
  const wte = ref.get(w, 'transformer.wte.weight');
  const wpe = ref.get(w, 'transformer.wpe.weight');
  const act = activationFn(cfg.activation);
  let hs: ref.Vec[] = ids.map((id, t) => Float64Array.from({ length: C }, (_, c) => wte[id * C + c] + wpe[t * C + c]));
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = (n: string) => ref.get(w, `transformer.h.${i}.${n}`);
    const lin = (x: ref.Vec, name: string, inDim: number, outDim: number, bias = false) =>
      ref.matVecOutIn(x, p(`${name}.weight`), inDim, outDim, bias ? p(`${name}.bias`) : undefined);
    const normed = hs.map((h) => ref.layerNorm(h, p('ln_1.weight'), p('ln_1.bias'), cfg.layerNormEpsilon));
    const [q, k, v] = ['q', 'k', 'v'].map((x) => normed.map((n) => lin(n, `attn.attention.${x}_proj`, C, C)));
    const ctx = ref.causalAttention(q, k, v, H, H, D, { scale: 1, window: cfg.slidingWindows[i] });
    hs = hs.map((h, t) => {
      const a = lin(ctx[t], 'attn.attention.out_proj', C, C, true);
      const h1 = h.map((x, c) => x + a[c]);
      const m = ref.layerNorm(h1, p('ln_2.weight'), p('ln_2.bias'), cfg.layerNormEpsilon);
      const out = lin(lin(m, 'mlp.c_fc', C, F, true).map(act), 'mlp.c_proj', F, C, true);
      return h1.map((x, c) => x + out[c]);
    });
  }
  const final = hs.map((h) => ref.layerNorm(h, ref.get(w, 'transformer.ln_f.weight'), ref.get(w, 'transformer.ln_f.bias'), cfg.layerNormEpsilon));
  return ref.logitsFrom(final, cfg.tieWordEmbeddings ? wte : ref.get(w, 'lm_head.weight'), V, C);
}

/**
 * Older checkpoints (TinyStories, EleutherAI's) store each attention's causal mask as
 * `attn.attention.bias` and `attn.attention.masked_bias`, constants rather than parameters:
 * drop them. The bare GPTNeoModel lacks the `transformer.` prefix: add it.
 */
export function sanitizeGptNeo(weights: Weights): Weights {
  const out: Weights = new Map();
  for (const [name, t] of weights) {
    if (/\.attn\.attention\.(bias|masked_bias)$/.test(name)) continue;
    out.set(name.startsWith('transformer.') || name.startsWith('lm_head.') ? name : `transformer.${name}`, t);
  }
  return out;
}

/** attention_types of a per-layer list, in GPTNeoConfig's [[unit, repeats], …] form: [[["global", "local"], 2], [["global"], 1]] for 5 layers. */
function attentionTypes(layers: readonly ('global' | 'local')[]): unknown[] {
  const unit = repeatingUnit(layers);
  const whole = Math.floor(layers.length / unit.length);
  const rest = layers.length % unit.length;
  return [...(whole > 0 ? [[unit, whole]] : []), ...(rest > 0 ? [[unit.slice(0, rest), 1]] : [])];
}

export const gpt_neo: Architecture<GptNeoConfig> = {
  modelType: 'gpt_neo',
  hfClass: 'GPTNeoForCausalLM',
  normalizeConfig: normalizeGptNeoConfig,
  parameters: gptNeoParameters,
  init: initGptNeo,
  forward: gptNeoForward,
  reference: gptNeoReference,
  sanitize: sanitizeGptNeo,
  reshape: {
    keys: { layers: 'num_layers', hidden: 'hidden_size', heads: 'num_heads', kvHeads: null, inner: 'intermediate_size', positions: 'max_position_embeddings' },
    // intermediate_size null means 4·hidden_size, which follows a new width by itself.
    intermediateFor: () => null,
    freshConfig: (cur) => ({
      activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, attention_types: attentionTypes(continuePattern(['global', 'local'], cur.numLayers)), window_size: 256,
    }),
    // GPTNeoConfig requires one attention type per layer: the pattern continues (or is cut) to the new depth.
    resized: (out, from, to) => {
      const layers = continuePattern(attentionLayers(out, from.numLayers, 'gpt_neo config.json'), to.numLayers);
      out.attention_types = attentionTypes(layers);
      if (Array.isArray(out.attention_layers)) out.attention_layers = layers;
    },
  },
  // llama.cpp has no GPT-Neo architecture.
};
