/**
 * What every decoder architecture file provides, and the decoder graph's I/O, which follows
 * transformers.js (so an exported graph runs in its `pipeline('text-generation')`):
 *
 *   inputs  input_ids int64 [batch, seq], attention_mask int64 [batch, total_seq],
 *           position_ids int64 [batch, seq],
 *           past_key_values.{i}.key|value float32 [batch, num_kv_heads, past_seq, head_dim]
 *   outputs logits float32 [batch, seq | 1, vocab], present.{i}.key|value [batch, num_kv_heads, total_seq, head_dim]
 *
 * Heads and head_dim stay numeric: transformers.js turns every symbolic dim but the batch
 * into 0 when it builds the empty first-step cache.
 */
import { UserError } from '../core/tool.js';
import type { Random } from '../core/random.js';
import type { GgufValue } from '../export/gguf-format.js';
import { Graph, type Value } from '../graph/builder.js';
import { attentionBias } from '../graph/layers.js';
import type { Weights } from './tensor.js';

/** The config fields every decoder has, in the field's words (normalised from config.json). */
export interface DecoderConfig {
  /** config.json's model_type (the architecture file's name). */
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads (grouped-query attention); equals numHeads without GQA. */
  numKvHeads: number;
  headDim: number;
  /** Longest sequence the position scheme was trained for. */
  maxPositions: number;
  /** True when the output head reuses the token embedding matrix (no lm_head.weight). */
  tieWordEmbeddings: boolean;
  /** Std-dev of the normal initialisation (config's initializer_range). */
  initializerRange: number;
  bosTokenId: number | null;
  /** One id or several (LLaMA-3 style lists). */
  eosTokenId: number | number[] | null;
  /**
   * A length whose crossing changes how every position is encoded (phi3's longrope switches
   * to its long factors past the original context): keys cached at or below it are stale
   * beyond it, so decoding that crosses it recomputes the whole sequence, as transformers'
   * generate does (Phi3ForCausalLM drops its cache there). Absent: cached keys stay valid.
   */
  recomputeCacheAt?: number;
}

/**
 * What a parameter is in the model, whatever the family calls it: the transforms (pruner,
 * quantizer, editor) and exporters pick parameters by role, never by name.
 */
export type ParamRole =
  | 'token_embedding'
  | 'position_embedding'
  /** The output projection to the vocabulary (absent when tied to the token embedding). */
  | 'head'
  /** A normalisation's scale or shift. */
  | 'norm'
  /** A projection matrix inside attention (q/k/v/o, fused or not). */
  | 'attention'
  /** A projection matrix inside the MLP. */
  | 'mlp'
  /** A projection's bias vector (attention, MLP or head). */
  | 'bias';

/** A parameter's Hugging Face name, shape, role and storage layout. */
export interface ParamSpec {
  name: string;
  shape: number[];
  role: ParamRole;
  /**
   * How a 2-D projection is stored: torch Linear's [out, in] (the default) or GPT-2 Conv1D's
   * [in, out]. Quantization and GGUF export turn every matrix to [out, in] rows first.
   */
  layout?: 'out_in' | 'in_out';
  /** A fused projection's parts along its output features, in order (c_attn: q, k, v). */
  parts?: { name: string; size: number }[];
}

/**
 * A family's parameter list, written in Hugging Face's names and shapes: the few kinds of
 * parameter every family has, so each file lists only which ones, in checkpoint order.
 */
export class ParamList {
  readonly specs: ParamSpec[] = [];

  add(spec: ParamSpec): this {
    this.specs.push(spec);
    return this;
  }

  /**
   * A projection `out` features from `inp`: nn.Linear's weight [out, in] (Conv1D's [in, out] with
   * `layout: 'in_out'`), and its bias [out] when `bias`.
   */
  linear(name: string, out: number, inp: number, role: 'attention' | 'mlp', opts: { bias?: boolean; layout?: 'in_out'; parts?: ParamSpec['parts'] } = {}): this {
    const shape = opts.layout === 'in_out' ? [inp, out] : [out, inp];
    this.add({ name: `${name}.weight`, shape, role, ...(opts.layout ? { layout: opts.layout } : {}), ...(opts.parts ? { parts: opts.parts } : {}) });
    if (opts.bias) this.add({ name: `${name}.bias`, shape: [out], role: 'bias' });
    return this;
  }

  /** A norm's weight [size], and its bias (LayerNorm's β) when `bias`. */
  norm(name: string, size: number, bias: boolean): this {
    this.add({ name: `${name}.weight`, shape: [size], role: 'norm' });
    if (bias) this.add({ name: `${name}.bias`, shape: [size], role: 'norm' });
    return this;
  }

  /** The LM head [vocab, hidden], a parameter of its own unless tied to the token embedding. */
  head(name: string, vocab: number, hidden: number, tied: boolean): this {
    return tied ? this : this.add({ name, shape: [vocab, hidden], role: 'head' });
  }
}

/** A 2-D projection stored [in, out] (Conv1D)? */
export function isInOut(p: ParamSpec): boolean {
  return p.layout === 'in_out';
}

export interface ForwardOptions {
  /** 'last': logits for the last position only (generation); 'all': every position (perplexity, training). */
  logits: 'last' | 'all';
}

/** The runtime inputs a forward pass reads, declared by `buildDecoderGraph`. */
export interface DecoderInputs {
  inputIds: Value;
  attentionMask: Value;
  positionIds: Value;
  /** The additive causal/padding bias [batch, 1, seq, total_seq], computed once per graph. */
  attentionBias: Value;
  /** past_key_values.{i}.key|value per layer. */
  past: { key: Value; value: Value }[];
}

/** What a forward pass returns: logits and each layer's present key/value cache. */
export interface DecoderOutputs {
  logits: Value;
  present: { key: Value; value: Value }[];
}

/** config.json's key for each size the reinitializer can change (null: the family has no such key). */
export interface ConfigKeys {
  layers: string;
  hidden: string;
  heads: string;
  kvHeads: string | null;
  inner: string;
  positions: string;
}

/** What the reinitializer needs to write a config of this family with other sizes. */
export interface ReshapeSpec {
  keys: ConfigKeys;
  /** The MLP width for a new hidden size when none is given; null drops the key (the family derives it). */
  intermediateFor(hidden: number): number | null;
  /**
   * The family-specific part of a fresh config.json (activation, norms, rope…) when another
   * model is re-made as this family; the sizes and token ids are filled in from `keys`.
   */
  freshConfig(cur: DecoderConfig): Record<string, unknown>;
  /**
   * Keys that equal head_dim in this family's configs (Gemma 2/3's query_pre_attn_scalar): when
   * the width or head count changes, one that equalled the old head_dim follows the new one.
   */
  headDimKeys?: readonly string[];
  /**
   * Fits what the config keeps per layer or per rotary frequency (gpt_neo's attention_types,
   * layer_types, smollm3's no_rope_layers, longrope factors) and sizes tied to the width (opt's
   * word_embed_proj_dim) to the new sizes, already written into `out`. `from` is the config
   * being reshaped (of another family when switching model_type). A list the config class
   * derives from other keys is derived again for the new depth; a list of the user's own
   * continues its pattern (see layer-types.ts).
   */
  resized?(out: Record<string, unknown>, from: DecoderConfig, to: ReshapedSizes): void;
}

/** The sizes a reshaped config has, whatever its family's key names. */
export interface ReshapedSizes {
  numLayers: number;
  hiddenSize: number;
  numHeads: number;
  numKvHeads: number;
}

/** How llama.cpp names this family in GGUF (as its convert_hf_to_gguf.py writes it). */
export interface GgufSpec<C extends DecoderConfig = DecoderConfig> {
  /** general.architecture, also the prefix of the hyperparameter keys. */
  arch: string;
  /** Hugging Face name → GGUF tensor name, first match wins. */
  tensorNames: readonly [RegExp, string][];
  /**
   * The context llama.cpp may use (`<arch>.context_length`) when it is less than the config's
   * positions: e.g. a sliding window that llama.cpp's graph for this arch does not apply, so
   * that within the stated context it computes exactly our model.
   */
  contextLength?(cfg: C): number;
  /** `<arch>.…` keys beyond context/embedding length, block and head count; UserError for what GGUF cannot say. */
  hyperparameters(cfg: C): [string, GgufValue][];
  /** The row order llama.cpp's rope needs for this tensor (q/k of NORM-rope families), or null. */
  rowOrder?(p: ParamSpec, cfg: C): Int32Array | null;
  /**
   * A constant llama.cpp's converter adds to this tensor's values, or 0: Gemma's norms store
   * γ for a scale of 1 + γ, GGUF stores the scale itself.
   */
  valueShift?(p: ParamSpec): number;
  /** tokenizer.ggml.pre for a byte-level BPE vocabulary. */
  tokenizerPre: string;
  /** llama.cpp's graph for this arch reads output.weight even when the head is tied. */
  writesTiedHead?: boolean;
  /**
   * Tensors llama.cpp reads that are not parameters but follow from the config (phi3's longrope
   * factors as rope_factors_long/short.weight), written F32 under their GGUF names before the
   * parameters, as convert_hf_to_gguf.py's generate_extra_tensors does.
   */
  extraTensors?(cfg: C): GgufExtraTensor[];
}

/** A GGUF tensor made from the config: its GGUF name, torch-order shape and values. */
export interface GgufExtraTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** One decoder architecture: one file per model_type (gpt2.ts, llama.ts), the only place that knows it. */
export interface Architecture<C extends DecoderConfig = DecoderConfig> {
  /** config.json's model_type, which is also the file's name. */
  modelType: string;
  /** transformers' class for config.json's `architectures` (GPT2LMHeadModel). */
  hfClass: string;
  /** Reads config.json (unknown keys ignored); a UserError names a missing or bad key. */
  normalizeConfig(raw: Record<string, unknown>): C;
  /** Every parameter, Hugging Face names and layouts; a tied head has no lm_head.weight. */
  parameters(cfg: C): ParamSpec[];
  /** Fresh weights as transformers' `_init_weights` makes them, drawn from `rng`. */
  init(cfg: C, rng: Random): Weights;
  /** Emits the forward pass into `g`. */
  forward(g: Graph, cfg: C, io: DecoderInputs, options: ForwardOptions): DecoderOutputs;
  /**
   * An independent plain-TypeScript forward (Float64 loops, no graph): logits [seq · vocab]
   * of one sequence, what the generated graph is checked against.
   */
  reference(cfg: C, weights: Weights, ids: number[]): Float32Array;
  /** Checkpoint names → ours (bare-model prefixes added, constant buffers dropped). */
  sanitize?(weights: Weights): Weights;
  reshape: ReshapeSpec;
  /** Absent where llama.cpp has no such architecture. */
  gguf?: GgufSpec<C>;
}

/** The parameter a tied head reuses: the token embedding. */
export function tokenEmbedding(params: readonly ParamSpec[]): ParamSpec {
  const p = params.find((x) => x.role === 'token_embedding');
  if (!p) throw new Error('architecture declares no token_embedding parameter');
  return p;
}

/** Declares the transformers.js inputs, runs the architecture's forward, declares the outputs. */
export function buildDecoderGraph<C extends DecoderConfig>(
  arch: Architecture<C>,
  cfg: C,
  options: ForwardOptions,
): Graph {
  const g = new Graph();
  const inputIds = g.input('input_ids', 'int64', ['batch_size', 'seq']);
  const attentionMask = g.input('attention_mask', 'int64', ['batch_size', 'total_seq']);
  const positionIds = g.input('position_ids', 'int64', ['batch_size', 'seq']);
  const past = Array.from({ length: cfg.numLayers }, (_, i) => ({
    key: g.input(`past_key_values.${i}.key`, 'float32', ['batch_size', cfg.numKvHeads, 'past_seq', cfg.headDim]),
    value: g.input(`past_key_values.${i}.value`, 'float32', ['batch_size', cfg.numKvHeads, 'past_seq', cfg.headDim]),
  }));
  const bias = attentionBias(g, '/model/attn_mask', inputIds, attentionMask);
  const out = arch.forward(g, cfg, { inputIds, attentionMask, positionIds, attentionBias: bias, past }, options);
  g.output(out.logits, 'logits', ['batch_size', options.logits === 'last' ? 1 : 'seq', cfg.vocabSize]);
  out.present.forEach((p, i) => {
    const shape = ['batch_size', cfg.numKvHeads, 'total_seq', cfg.headDim];
    g.output(p.key, `present.${i}.key`, shape);
    g.output(p.value, `present.${i}.value`, shape);
  });
  return g;
}

/** How one parameter starts: a normal draw or a constant fill. */
export type InitRule = { kind: 'normal'; std: number } | { kind: 'fill'; value: number };

export interface InitOptions {
  /** Std-dev of the normal draws (config's initializer_range). */
  std: number;
  /** The token whose embedding row starts at 0 (an Embedding's padding_idx), if any. */
  padTokenId?: number | null;
  /** Where norm scales start: 1, or 0 for Gemma's (1 + w) norms. */
  normScale?: number;
  /** A family's own rule for a parameter (GPT-2's scaled c_proj), or undefined for the default. */
  override?: (p: ParamSpec) => InitRule | undefined;
}

/**
 * Fresh weights as transformers' `_init_weights` makes them, read off the roles: every
 * matrix normal(0, std), biases and norm shifts 0, norm scales 1, the padding token's
 * embedding row 0. Draws happen in parameter order, so a seed gives the same model.
 */
export function standardInit(params: readonly ParamSpec[], rng: Random, opts: InitOptions): Weights {
  const w: Weights = new Map();
  for (const p of params) {
    const data = new Float32Array(p.shape.reduce((a, b) => a * b, 1));
    const r = opts.override?.(p) ?? defaultRule(p, opts);
    if (r.kind === 'normal') rng.fillNormal(data, 0, r.std);
    else if (r.value !== 0) data.fill(r.value);
    w.set(p.name, { shape: p.shape, data });
  }
  const pad = opts.padTokenId ?? null;
  const embedding = params.find((p) => p.role === 'token_embedding');
  if (pad !== null && embedding && pad < embedding.shape[0]) {
    const width = embedding.shape[1];
    w.get(embedding.name)!.data.fill(0, pad * width, (pad + 1) * width);
  }
  return w;
}

function defaultRule(p: ParamSpec, opts: InitOptions): InitRule {
  if (p.role === 'bias' || (p.role === 'norm' && p.name.endsWith('.bias'))) return { kind: 'fill', value: 0 };
  if (p.role === 'norm') return { kind: 'fill', value: opts.normScale ?? 1 };
  return { kind: 'normal', std: opts.std };
}

/** Reads config keys with one-line errors naming the key and the model type. */
export class ConfigReader {
  /** `where` names the object in messages: 'llama config.json', 'llama config.json rope_scaling'. */
  constructor(
    private readonly raw: Record<string, unknown>,
    private readonly where: string,
  ) {}

  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  /** A positive integer (sizes, counts). `fallback` undefined means required. */
  int(key: string, fallback?: number): number {
    const v = this.has(key) ? this.raw[key] : fallback;
    if (v === undefined) throw new UserError(`${this.where} lacks "${key}"; add it (a positive integer)`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new UserError(`${this.where}: "${key}" must be a positive integer, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  /** A positive number (epsilons, theta, std-devs). */
  number(key: string, fallback?: number): number {
    const v = this.has(key) ? this.raw[key] : fallback;
    if (v === undefined) throw new UserError(`${this.where} lacks "${key}"; add it (a positive number)`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new UserError(`${this.where}: "${key}" must be a positive number, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.has(key) ? this.raw[key] : fallback;
    if (typeof v !== 'boolean') throw new UserError(`${this.where}: "${key}" must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  /** A token id or list of ids (eos_token_id may be a list); null when absent. */
  tokenIds(key: string): number | number[] | null {
    const v = this.raw[key];
    if (v === undefined || v === null) return null;
    const ok = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 0;
    if (ok(v) || (Array.isArray(v) && v.every(ok))) return v as number | number[];
    throw new UserError(`${this.where}: "${key}" must be a token id or a list of ids, got ${JSON.stringify(v)}`);
  }

  /** Throws unless `divisor` divides `value` (e.g. heads into hidden size). */
  divisible(what: string, value: number, divisor: number, by: string): void {
    if (value % divisor !== 0) {
      throw new UserError(`${this.where}: ${what} (${value}) is not divisible by ${by} (${divisor})`);
    }
  }
}
