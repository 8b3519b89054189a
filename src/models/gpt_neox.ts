/**
 * GPT-NeoX (model_type "gpt_neox": Pythia, GPT-NeoX-20B): LayerNorm blocks with biases,
 * attention and MLP side by side on the same input when use_parallel_residual (the default),
 * rotary positions on the first rotary_pct of each head, one fused query_key_value projection
 * whose output rows are grouped per head ([q_h; k_h; v_h] for each head h, not q, k, v blocks),
 * exact GELU MLP, an untied head named embed_out. Weights keep Hugging Face's names.
 */
import type { Random } from '../core/random.js';
import type { Graph, Value } from '../graph/builder.js';
import { appendCache, applyPartialRotary, attention, lastPosition, linear, rotaryTables, splitHeads, type RotaryTables } from '../graph/layers.js';
import * as op from '../graph/ops.js';
import { geluApproximation } from './activation.js';
import { UserError } from '../core/tool.js';
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

export interface GptNeoxConfig extends DecoderConfig, RopeConfig {
  intermediateSize: number;
  layerNormEps: number;
  geluApproximate: 'tanh' | 'none';
  /** h + attn(ln1(h)) + mlp(ln2(h)) instead of the sequential pre-norm block. */
  parallelResidual: boolean;
  /** Biases on query_key_value and dense (attention_bias). */
  attentionBias: boolean;
  /** Features of each head that rotate: int(head_dim · rotary_pct). */
  rotaryDim: number;
}

export function normalizeGptNeoxConfig(raw: Record<string, unknown>): GptNeoxConfig {
  const where = 'gpt_neox config.json';
  const r = new ConfigReader(raw, where);
  const hiddenSize = r.int('hidden_size', 6144);
  const numHeads = r.int('num_attention_heads', 64);
  r.divisible('hidden_size', hiddenSize, numHeads, 'num_attention_heads');
  const headDim = hiddenSize / numHeads;
  // Configs before transformers 5 name the rope base rotary_emb_base.
  const legacyTheta = typeof raw.rotary_emb_base === 'number' ? raw.rotary_emb_base : 10000;
  return {
    modelType: 'gpt_neox',
    vocabSize: r.int('vocab_size', 50432),
    hiddenSize,
    numLayers: r.int('num_hidden_layers', 44),
    numHeads,
    numKvHeads: numHeads,
    headDim,
    maxPositions: r.int('max_position_embeddings', 2048),
    intermediateSize: r.int('intermediate_size', 24576),
    layerNormEps: r.number('layer_norm_eps', 1e-5),
    geluApproximate: geluApproximation(raw.hidden_act ?? 'gelu', where, 'hidden_act'),
    parallelResidual: r.bool('use_parallel_residual', true),
    attentionBias: r.bool('attention_bias', true),
    ...readRope(raw, 'gpt_neox', legacyTheta),
    rotaryDim: rotaryDimension(raw, 'gpt_neox', headDim, 'rotary_pct', 0.25),
    tieWordEmbeddings: r.bool('tie_word_embeddings', false),
    initializerRange: r.number('initializer_range', 0.02),
    bosTokenId: r.tokenIds('bos_token_id') as number | null,
    eosTokenId: r.tokenIds('eos_token_id'),
  };
}

export function gptNeoxParameters(cfg: GptNeoxConfig): ParamSpec[] {
  const { hiddenSize: C, intermediateSize: F, numHeads: H, headDim: D } = cfg;
  const params = new ParamList().add({ name: 'gpt_neox.embed_in.weight', shape: [cfg.vocabSize, C], role: 'token_embedding' });
  // query_key_value's rows are per head: q of head 0, k of head 0, v of head 0, q of head 1…
  const qkvParts = Array.from({ length: H }, () => ['q', 'k', 'v'].map((name) => ({ name, size: D }))).flat();
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `gpt_neox.layers.${i}`;
    params.norm(`${p}.input_layernorm`, C, true);
    params.norm(`${p}.post_attention_layernorm`, C, true);
    params.linear(`${p}.attention.query_key_value`, 3 * C, C, 'attention', { bias: cfg.attentionBias, parts: qkvParts });
    params.linear(`${p}.attention.dense`, C, C, 'attention', { bias: cfg.attentionBias });
    params.linear(`${p}.mlp.dense_h_to_4h`, F, C, 'mlp', { bias: true });
    params.linear(`${p}.mlp.dense_4h_to_h`, C, F, 'mlp', { bias: true });
  }
  return params.norm('gpt_neox.final_layer_norm', C, true).head('embed_out.weight', cfg.vocabSize, C, cfg.tieWordEmbeddings).specs;
}

/** transformers' default _init_weights: Linear/Embedding normal(0, initializer_range), biases 0, LayerNorm γ=1 β=0. */
export function initGptNeox(cfg: GptNeoxConfig, rng: Random): Weights {
  return standardInit(gptNeoxParameters(cfg), rng, { std: cfg.initializerRange });
}

type Param = (name: string) => Value;

function selfAttention(g: Graph, i: number, cfg: GptNeoxConfig, x: Value, io: DecoderInputs, rope: RotaryTables, param: Param) {
  const P = `/gpt_neox/layers.${i}/attention`;
  const n = `gpt_neox.layers.${i}.attention`;
  const { numHeads: H, headDim: D } = cfg;
  const bias = (name: string) => (cfg.attentionBias ? param(`${n}.${name}.bias`) : undefined);
  const qkv = linear(g, `${P}/query_key_value`, x, param(`${n}.query_key_value.weight`), bias('query_key_value'));
  // [B,S,3C] → [B,H,S,3D], then each head's 3·D features split into its q, k, v.
  const [q, k, v] = op.split(g, `${P}/qkv/Split`, splitHeads(g, `${P}/qkv`, qkv, H, 3 * D), [D, D, D], -1);
  const key = appendCache(g, `${P}/present_key/Concat`, io.past[i].key, applyPartialRotary(g, `${P}/k_rotary`, k, rope));
  const value = appendCache(g, `${P}/present_value/Concat`, io.past[i].value, v);
  const ctx = attention(g, P, applyPartialRotary(g, `${P}/q_rotary`, q, rope), key, value, io.attentionBias, cfg);
  return { out: linear(g, `${P}/dense`, ctx, param(`${n}.dense.weight`), bias('dense')), key, value };
}

function mlp(g: Graph, i: number, cfg: GptNeoxConfig, x: Value, param: Param): Value {
  const P = `/gpt_neox/layers.${i}/mlp`;
  const n = `gpt_neox.layers.${i}.mlp`;
  const up = linear(g, `${P}/dense_h_to_4h`, x, param(`${n}.dense_h_to_4h.weight`), param(`${n}.dense_h_to_4h.bias`));
  const act = op.gelu(g, `${P}/act/Gelu`, up, cfg.geluApproximate);
  return linear(g, `${P}/dense_4h_to_h`, act, param(`${n}.dense_4h_to_h.weight`), param(`${n}.dense_4h_to_h.bias`));
}

export function gptNeoxForward(g: Graph, cfg: GptNeoxConfig, io: DecoderInputs, options: ForwardOptions): DecoderOutputs {
  const shapes = new Map(gptNeoxParameters(cfg).map((p) => [p.name, p.shape]));
  const param = (name: string) => g.param(name, shapes.get(name)!);
  const ln = (prefix: string, x: Value, name: string) =>
    op.layerNorm(g, `${prefix}/LayerNormalization`, x, param(`${name}.weight`), param(`${name}.bias`), cfg.layerNormEps);
  const embed = param('gpt_neox.embed_in.weight');
  let h = op.gather(g, '/gpt_neox/embed_in/Gather', embed, io.inputIds);
  const rope = rotaryTables(g, '/gpt_neox/rotary_emb', io.positionIds, inverseFrequencies(cfg.ropeTheta, cfg.ropeScaling, cfg.rotaryDim));
  const present: DecoderOutputs['present'] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    const L = `/gpt_neox/layers.${i}`;
    const n = `gpt_neox.layers.${i}`;
    const attn = selfAttention(g, i, cfg, ln(`${L}/input_layernorm`, h, `${n}.input_layernorm`), io, rope, param);
    if (cfg.parallelResidual) {
      const m = mlp(g, i, cfg, ln(`${L}/post_attention_layernorm`, h, `${n}.post_attention_layernorm`), param);
      h = op.add(g, `${L}/residual/Add`, op.add(g, `${L}/attn_mlp/Add`, m, attn.out), h);
    } else {
      h = op.add(g, `${L}/attention/residual/Add`, h, attn.out);
      h = op.add(g, `${L}/mlp/residual/Add`, h, mlp(g, i, cfg, ln(`${L}/post_attention_layernorm`, h, `${n}.post_attention_layernorm`), param));
    }
    present.push({ key: attn.key, value: attn.value });
  }
  if (options.logits === 'last') h = lastPosition(g, '/gpt_neox/last_position', h);
  h = ln('/gpt_neox/final_layer_norm', h, 'gpt_neox.final_layer_norm');
  const head = cfg.tieWordEmbeddings ? embed : param('embed_out.weight');
  return { logits: linear(g, '/embed_out', h, head), present };
}

/** The plain-TypeScript forward the graph is checked against. */
export function gptNeoxReference(cfg: GptNeoxConfig, w: Weights, ids: number[]): Float32Array {
  const { hiddenSize: C, numHeads: H, headDim: D, intermediateSize: F, vocabSize: V, rotaryDim: R } = cfg;
  const invFreq = inverseFrequencies(cfg.ropeTheta, cfg.ropeScaling, R);
  const embed = ref.get(w, 'gpt_neox.embed_in.weight');
  const opt = (name: string) => w.get(name)?.data;
  const gelu = cfg.geluApproximate === 'tanh' ? ref.geluTanh : ref.geluExact;
  let hs: ref.Vec[] = ids.map((id) => Float64Array.from(embed.subarray(id * C, (id + 1) * C)));
  for (let i = 0; i < cfg.numLayers; i++) {
    const n = `gpt_neox.layers.${i}`;
    const lin = (x: ref.Vec, name: string, inDim: number, outDim: number) => ref.matVecOutIn(x, ref.get(w, `${n}.${name}.weight`), inDim, outDim, opt(`${n}.${name}.bias`));
    const norm = (x: ref.Vec, name: string) => ref.layerNorm(x, ref.get(w, `${n}.${name}.weight`), ref.get(w, `${n}.${name}.bias`), cfg.layerNormEps);
    const mlp = (x: ref.Vec) => lin(lin(x, 'mlp.dense_h_to_4h', C, F).map(gelu), 'mlp.dense_4h_to_h', F, C);
    // Undo the per-head grouping: row h·3D + j·D + d is feature d of part j (q, k, v) of head h.
    const qkv = hs.map((h) => lin(norm(h, 'input_layernorm'), 'attention.query_key_value', C, 3 * C));
    const part = (x: ref.Vec, j: number) => Float64Array.from({ length: C }, (_, c) => x[Math.floor(c / D) * 3 * D + j * D + (c % D)]);
    const q = qkv.map((x, t) => ref.rotate(part(x, 0), H, D, t, invFreq));
    const k = qkv.map((x, t) => ref.rotate(part(x, 1), H, D, t, invFreq));
    const ctx = ref.causalAttention(q, k, qkv.map((x) => part(x, 2)), H, H, D);
    hs = hs.map((h, t) => {
      const a = lin(ctx[t], 'attention.dense', C, C);
      if (cfg.parallelResidual) {
        const m = mlp(norm(h, 'post_attention_layernorm'));
        return h.map((x, c) => x + a[c] + m[c]);
      }
      const h1 = h.map((x, c) => x + a[c]);
      const m = mlp(norm(h1, 'post_attention_layernorm'));
      return h1.map((x, c) => x + m[c]);
    });
  }
  const final = hs.map((h) => ref.layerNorm(h, ref.get(w, 'gpt_neox.final_layer_norm.weight'), ref.get(w, 'gpt_neox.final_layer_norm.bias'), cfg.layerNormEps));
  return ref.logitsFrom(final, cfg.tieWordEmbeddings ? embed : ref.get(w, 'embed_out.weight'), V, C);
}

/** Older checkpoints store the causal mask (attention.bias, masked_bias) and rotary inv_freq as tensors; they are constants here. */
export function sanitizeGptNeox(weights: Weights): Weights {
  for (const name of [...weights.keys()]) {
    if (/\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$/.test(name)) weights.delete(name);
  }
  return weights;
}

/** llama.cpp's gptneox wants q, k, v as three blocks: row order from the per-head [q_h; k_h; v_h] grouping. */
export function qkvBlockOrder(heads: number, headDim: number): Int32Array {
  const order = new Int32Array(3 * heads * headDim);
  for (let j = 0; j < 3; j++) for (let h = 0; h < heads; h++) for (let d = 0; d < headDim; d++) order[(j * heads + h) * headDim + d] = h * 3 * headDim + j * headDim + d;
  return order;
}

export const gpt_neox: Architecture<GptNeoxConfig> = {
  modelType: 'gpt_neox',
  hfClass: 'GPTNeoXForCausalLM',
  normalizeConfig: normalizeGptNeoxConfig,
  parameters: gptNeoxParameters,
  init: initGptNeox,
  forward: gptNeoxForward,
  reference: gptNeoxReference,
  sanitize: sanitizeGptNeox,
  reshape: {
    keys: {
      layers: 'num_hidden_layers', hidden: 'hidden_size', heads: 'num_attention_heads',
      kvHeads: null, inner: 'intermediate_size', positions: 'max_position_embeddings',
    },
    intermediateFor: (hidden) => 4 * hidden,
    freshConfig: (cur) => ({
      hidden_act: 'gelu', layer_norm_eps: 1e-5, use_parallel_residual: true, attention_bias: true,
      rope_parameters: { rope_type: 'default', rope_theta: 10000, partial_rotary_factor: partialRotaryFactorFor(cur.hiddenSize / cur.numHeads, 0.25) },
    }),
  },
  gguf: {
    arch: 'gptneox',
    // GPT-NeoX's BPE pre-tokenizer is GPT-2's regex (llama.cpp's gpt-2 / mpt / olmo share it).
    tokenizerPre: 'gpt-2',
    writesTiedHead: true,
    tensorNames: [
      [/^gpt_neox\.embed_in\.weight$/, 'token_embd.weight'],
      [/^gpt_neox\.layers\.(\d+)\.input_layernorm\.(weight|bias)$/, 'blk.$1.attn_norm.$2'],
      [/^gpt_neox\.layers\.(\d+)\.attention\.query_key_value\.(weight|bias)$/, 'blk.$1.attn_qkv.$2'],
      [/^gpt_neox\.layers\.(\d+)\.attention\.dense\.(weight|bias)$/, 'blk.$1.attn_output.$2'],
      [/^gpt_neox\.layers\.(\d+)\.post_attention_layernorm\.(weight|bias)$/, 'blk.$1.ffn_norm.$2'],
      [/^gpt_neox\.layers\.(\d+)\.mlp\.dense_h_to_4h\.(weight|bias)$/, 'blk.$1.ffn_up.$2'],
      [/^gpt_neox\.layers\.(\d+)\.mlp\.dense_4h_to_h\.(weight|bias)$/, 'blk.$1.ffn_down.$2'],
      [/^gpt_neox\.final_layer_norm\.(weight|bias)$/, 'output_norm.$1'],
      [/^embed_out\.weight$/, 'output.weight'],
    ],
    // llama.cpp rotates GPT-NeoX heads in NEOX (rotate-half) order, so q/k rows need no permutation.
    hyperparameters: (cfg) => {
      // llama.cpp's gptneox graph adds the q/k/v and output biases unconditionally.
      if (!cfg.attentionBias) throw new UserError('--export_format gguf: llama.cpp\'s gptneox needs attention biases (this config has attention_bias false); use onnx or safetensors');
      return [
        ['feed_forward_length', { type: 'u32', value: cfg.intermediateSize }],
        ['rope.dimension_count', { type: 'u32', value: cfg.rotaryDim }],
        ['rope.freq_base', { type: 'f32', value: cfg.ropeTheta }],
        ...ggufRopeScaling(cfg.ropeScaling),
        ['use_parallel_residual', { type: 'bool', value: cfg.parallelResidual }],
        ['attention.layer_norm_epsilon', { type: 'f32', value: cfg.layerNormEps }],
      ];
    },
    rowOrder: (p, cfg) => (/\.query_key_value\./.test(p.name) ? qkvBlockOrder(cfg.numHeads, cfg.headDim) : null),
  },
};
