/**
 * GPT-2 (model_type "gpt2"): learned position embeddings, pre-LayerNorm blocks, fused q/k/v
 * projection, GELU MLP, head tied to the token embeddings. Weights keep the Hugging Face
 * GPT2LMHeadModel names; its Conv1D layers store weights as [in, out]. Node names follow the
 * module paths (`/transformer/h.0/attn/c_attn/MatMul`).
 */
import type { Random } from '../core/random.js';
import { UserError } from '../core/tool.js';
import type { Graph, Value } from '../graph/builder.js';
import { appendCache, attention, lastPosition, linearInOut, splitHeads } from '../graph/layers.js';
import * as op from '../graph/ops.js';
import type { Weights } from './tensor.js';
import * as ref from './reference.js';
import { geluApproximation } from './activation.js';
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

export interface Gpt2Config extends DecoderConfig {
  modelType: 'gpt2';
  /** MLP width (n_inner, default 4·n_embd). */
  intermediateSize: number;
  layerNormEpsilon: number;
  /** 'tanh' for gelu_new / gelu_pytorch_tanh (GPT-2's own), 'none' for exact erf GELU. */
  geluApproximate: 'tanh' | 'none';
}

export function normalizeGpt2Config(raw: Record<string, unknown>): Gpt2Config {
  const r = new ConfigReader(raw, 'gpt2 config.json');
  const hiddenSize = r.int('n_embd', 768);
  const numHeads = r.int('n_head', 12);
  r.divisible('n_embd', hiddenSize, numHeads, 'n_head');
  const geluApproximate = geluApproximation(raw.activation_function ?? 'gelu_new', 'gpt2 config.json', 'activation_function');
  if (raw.scale_attn_by_inverse_layer_idx === true || raw.reorder_and_upcast_attn === true) {
    throw new UserError('gpt2 config.json: scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn are not supported; set them to false');
  }
  return {
    modelType: 'gpt2',
    vocabSize: r.int('vocab_size', 50257),
    hiddenSize,
    numLayers: r.int('n_layer', 12),
    numHeads,
    numKvHeads: numHeads,
    headDim: hiddenSize / numHeads,
    maxPositions: r.int('n_positions', 1024),
    intermediateSize: r.int('n_inner', 4 * hiddenSize),
    layerNormEpsilon: r.number('layer_norm_epsilon', 1e-5),
    geluApproximate,
    tieWordEmbeddings: r.bool('tie_word_embeddings', true),
    initializerRange: r.number('initializer_range', 0.02),
    bosTokenId: r.tokenIds('bos_token_id') as number | null,
    eosTokenId: r.tokenIds('eos_token_id'),
  };
}

export function gpt2Parameters(cfg: Gpt2Config): ParamSpec[] {
  const C = cfg.hiddenSize;
  const F = cfg.intermediateSize;
  const params = new ParamList()
    .add({ name: 'transformer.wte.weight', shape: [cfg.vocabSize, C], role: 'token_embedding' })
    .add({ name: 'transformer.wpe.weight', shape: [cfg.maxPositions, C], role: 'position_embedding' });
  // Conv1D stores [in, out]; c_attn's output features are q, k, v side by side.
  const conv = (name: string, inp: number, out: number, role: 'attention' | 'mlp', parts?: ParamSpec['parts']) =>
    params.linear(name, out, inp, role, { bias: true, layout: 'in_out', parts });
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `transformer.h.${i}`;
    params.norm(`${p}.ln_1`, C, true);
    conv(`${p}.attn.c_attn`, C, 3 * C, 'attention', [{ name: 'q', size: C }, { name: 'k', size: C }, { name: 'v', size: C }]);
    conv(`${p}.attn.c_proj`, C, C, 'attention');
    params.norm(`${p}.ln_2`, C, true);
    conv(`${p}.mlp.c_fc`, C, F, 'mlp');
    conv(`${p}.mlp.c_proj`, F, C, 'mlp');
  }
  return params.norm('transformer.ln_f', C, true).head('lm_head.weight', cfg.vocabSize, C, cfg.tieWordEmbeddings).specs;
}

/**
 * transformers' GPT2PreTrainedModel._init_weights: weights and embeddings normal(0, range),
 * biases 0, LayerNorm γ=1 β=0, and every c_proj.weight (the residual-stream writers) scaled
 * by 1/√(2·n_layer), as the GPT-2 paper prescribes.
 */
export function initGpt2(cfg: Gpt2Config, rng: Random) {
  const std = cfg.initializerRange;
  return standardInit(gpt2Parameters(cfg), rng, {
    std,
    override: (p) => (p.name.endsWith('c_proj.weight') ? { kind: 'normal', std: std / Math.sqrt(2 * cfg.numLayers) } : undefined),
  });
}

/** One pre-LN block: h + attn(ln_1(h)), then + mlp(ln_2(·)). Returns the new residual and cache. */
function block(g: Graph, i: number, cfg: Gpt2Config, h: Value, io: DecoderInputs, param: (name: string) => Value) {
  const P = `/transformer/h.${i}`;
  const w = (n: string) => param(`transformer.h.${i}.${n}`);
  const C = cfg.hiddenSize;
  const D = cfg.headDim;
  const H = cfg.numHeads;

  const a = op.layerNorm(g, `${P}/ln_1/LayerNormalization`, h, w('ln_1.weight'), w('ln_1.bias'), cfg.layerNormEpsilon);
  const qkv = linearInOut(g, `${P}/attn/c_attn`, a, w('attn.c_attn.weight'), w('attn.c_attn.bias'));
  const [q, k, v] = op.split(g, `${P}/attn/qkv/Split`, qkv, [C, C, C], -1);
  const key = appendCache(g, `${P}/attn/present_key/Concat`, io.past[i].key, splitHeads(g, `${P}/attn/k`, k, H, D));
  const value = appendCache(g, `${P}/attn/present_value/Concat`, io.past[i].value, splitHeads(g, `${P}/attn/v`, v, H, D));
  const ctx = attention(g, `${P}/attn`, splitHeads(g, `${P}/attn/q`, q, H, D), key, value, io.attentionBias, cfg);
  const attnOut = linearInOut(g, `${P}/attn/c_proj`, ctx, w('attn.c_proj.weight'), w('attn.c_proj.bias'));
  const h1 = op.add(g, `${P}/attn/residual/Add`, h, attnOut);

  const m = op.layerNorm(g, `${P}/ln_2/LayerNormalization`, h1, w('ln_2.weight'), w('ln_2.bias'), cfg.layerNormEpsilon);
  const fc = linearInOut(g, `${P}/mlp/c_fc`, m, w('mlp.c_fc.weight'), w('mlp.c_fc.bias'));
  const act = op.gelu(g, `${P}/mlp/act/Gelu`, fc, cfg.geluApproximate);
  const mlpOut = linearInOut(g, `${P}/mlp/c_proj`, act, w('mlp.c_proj.weight'), w('mlp.c_proj.bias'));
  return { h: op.add(g, `${P}/mlp/residual/Add`, h1, mlpOut), key, value };
}

export function gpt2Forward(g: Graph, cfg: Gpt2Config, io: DecoderInputs, options: ForwardOptions): DecoderOutputs {
  const shapes = new Map(gpt2Parameters(cfg).map((p) => [p.name, p.shape]));
  const param = (name: string) => g.param(name, shapes.get(name)!);
  const wte = param('transformer.wte.weight');
  const wpe = param('transformer.wpe.weight');
  let h = op.add(
    g,
    '/transformer/embed/Add',
    op.gather(g, '/transformer/wte/Gather', wte, io.inputIds),
    op.gather(g, '/transformer/wpe/Gather', wpe, io.positionIds),
  );
  const present: DecoderOutputs['present'] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    const out = block(g, i, cfg, h, io, param);
    h = out.h;
    present.push({ key: out.key, value: out.value });
  }
  if (options.logits === 'last') h = lastPosition(g, '/transformer/last_position', h);
  h = op.layerNorm(
    g,
    '/transformer/ln_f/LayerNormalization',
    h,
    param('transformer.ln_f.weight'),
    param('transformer.ln_f.bias'),
    cfg.layerNormEpsilon,
  );
  const head = cfg.tieWordEmbeddings ? wte : param('lm_head.weight');
  const headT = op.transpose(g, '/lm_head/Transpose', head, [1, 0]);
  return { logits: op.matMul(g, '/lm_head/MatMul', h, headT), present };
}

/** The plain-TypeScript forward the graph is checked against. */
export function gpt2Reference(cfg: Gpt2Config, w: Weights, ids: number[]): Float32Array {
  const { hiddenSize: C, numHeads: H, headDim: D, intermediateSize: F, vocabSize: V } = cfg;
  const wte = ref.get(w, 'transformer.wte.weight');
  const wpe = ref.get(w, 'transformer.wpe.weight');
  let hs: ref.Vec[] = ids.map((id, t) => Float64Array.from({ length: C }, (_, c) => wte[id * C + c] + wpe[t * C + c]));
  const gelu = cfg.geluApproximate === 'tanh' ? ref.geluTanh : ref.geluExact;
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = (n: string) => ref.get(w, `transformer.h.${i}.${n}`);
    const qkv = hs.map((h) =>
      ref.matVecInOut(ref.layerNorm(h, p('ln_1.weight'), p('ln_1.bias'), cfg.layerNormEpsilon), p('attn.c_attn.weight'), C, 3 * C, p('attn.c_attn.bias')),
    );
    const ctx = ref.causalAttention(
      qkv.map((x) => x.subarray(0, C)),
      qkv.map((x) => x.subarray(C, 2 * C)),
      qkv.map((x) => x.subarray(2 * C)),
      H, H, D,
    );
    hs = hs.map((h, t) => {
      const a = ref.matVecInOut(ctx[t], p('attn.c_proj.weight'), C, C, p('attn.c_proj.bias'));
      const h1 = h.map((x, c) => x + a[c]);
      const m = ref.layerNorm(h1, p('ln_2.weight'), p('ln_2.bias'), cfg.layerNormEpsilon);
      const act = ref.matVecInOut(m, p('mlp.c_fc.weight'), C, F, p('mlp.c_fc.bias')).map(gelu);
      const out = ref.matVecInOut(act, p('mlp.c_proj.weight'), F, C, p('mlp.c_proj.bias'));
      return h1.map((x, c) => x + out[c]);
    });
  }
  const final = hs.map((h) => ref.layerNorm(h, ref.get(w, 'transformer.ln_f.weight'), ref.get(w, 'transformer.ln_f.bias'), cfg.layerNormEpsilon));
  const head = cfg.tieWordEmbeddings ? wte : ref.get(w, 'lm_head.weight');
  return ref.logitsFrom(final, head, V, C);
}

/**
 * Checkpoints of the bare GPT2Model (the original `gpt2`, `distilgpt2`) lack the
 * `transformer.` prefix (`h.0.attn.c_attn.weight`, `wte.weight`) and store `attn.bias` (the
 * causal mask) and `attn.masked_bias`, constants rather than parameters: prefix, drop them.
 */
export function sanitizeGpt2(weights: Weights): Weights {
  const out: Weights = new Map();
  for (const [name, t] of weights) {
    if (/\.attn\.(bias|masked_bias)$/.test(name)) continue;
    const full = name.startsWith('transformer.') || name.startsWith('lm_head.') ? name : `transformer.${name}`;
    out.set(full, t);
  }
  return out;
}

export const gpt2: Architecture<Gpt2Config> = {
  modelType: 'gpt2',
  hfClass: 'GPT2LMHeadModel',
  normalizeConfig: normalizeGpt2Config,
  parameters: gpt2Parameters,
  init: initGpt2,
  forward: gpt2Forward,
  reference: gpt2Reference,
  sanitize: sanitizeGpt2,
  reshape: {
    keys: { layers: 'n_layer', hidden: 'n_embd', heads: 'n_head', kvHeads: null, inner: 'n_inner', positions: 'n_positions' },
    // n_inner null means 4·n_embd, which follows a new width by itself.
    intermediateFor: () => null,
    freshConfig: () => ({ activation_function: 'gelu_new', layer_norm_epsilon: 1e-5 }),
  },
  gguf: {
    arch: 'gpt2',
    tokenizerPre: 'gpt-2',
    // A tied head is token_embd alone: llama.cpp's gpt2 loader falls back to it when output.weight is absent.
    tensorNames: [
      [/^transformer\.wte\.weight$/, 'token_embd.weight'],
      [/^transformer\.wpe\.weight$/, 'position_embd.weight'],
      [/^transformer\.h\.(\d+)\.ln_1\.(weight|bias)$/, 'blk.$1.attn_norm.$2'],
      [/^transformer\.h\.(\d+)\.attn\.c_attn\.(weight|bias)$/, 'blk.$1.attn_qkv.$2'],
      [/^transformer\.h\.(\d+)\.attn\.c_proj\.(weight|bias)$/, 'blk.$1.attn_output.$2'],
      [/^transformer\.h\.(\d+)\.ln_2\.(weight|bias)$/, 'blk.$1.ffn_norm.$2'],
      [/^transformer\.h\.(\d+)\.mlp\.c_fc\.(weight|bias)$/, 'blk.$1.ffn_up.$2'],
      [/^transformer\.h\.(\d+)\.mlp\.c_proj\.(weight|bias)$/, 'blk.$1.ffn_down.$2'],
      [/^transformer\.ln_f\.(weight|bias)$/, 'output_norm.$1'],
      [/^lm_head\.weight$/, 'output.weight'],
    ],
    hyperparameters: (cfg) => [
      ['feed_forward_length', { type: 'u32', value: cfg.intermediateSize }],
      ['attention.layer_norm_epsilon', { type: 'f32', value: cfg.layerNormEpsilon }],
    ],
  },
};
