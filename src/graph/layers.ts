/**
 * Emitters shared by the decoder architectures: small pure functions `(g, prefix, …) → value`
 * composed from ops.ts. Shape legend: B batch, S new tokens (seq), P cached tokens (past_seq),
 * T = P + S (total_seq), H query heads, Hkv key/value heads, D head_dim, C hidden size.
 */
import type { Graph, Value } from './builder.js';
import * as op from './ops.js';

/** y = x @ w (+ b). `w` is [in, out] (GPT-2's Conv1D layout). */
export function linearInOut(g: Graph, prefix: string, x: Value, w: Value, b?: Value): Value {
  const y = op.matMul(g, `${prefix}/MatMul`, x, w);
  return b ? op.add(g, `${prefix}/Add`, y, b) : y;
}

/**
 * y = x @ wᵀ (+ b). `w` is [out, in] (torch Linear layout, as checkpoints store it).
 *
 *   x [.., in] ──MatMul── y [.., out]
 *   w [out, in] ─Transpose─┘
 *
 * With weights as initializers ORT constant-folds the Transpose at load; fed as inputs, its
 * optimizer fuses Transpose+MatMul into one FusedMatMul (transB), so no copy per run either.
 */
export function linear(g: Graph, prefix: string, x: Value, w: Value, b?: Value): Value {
  const wt = op.transpose(g, `${prefix}/Transpose`, w, [1, 0]);
  const y = op.matMul(g, `${prefix}/MatMul`, x, wt);
  return b ? op.add(g, `${prefix}/Add`, y, b) : y;
}

/**
 * The additive attention bias [B, 1, S, T]: 0 where query i (at absolute position P + i) may
 * see key j — j ≤ P + i, attention_mask[b, j] = 1 and, with a sliding `window`, P + i − j <
 * window — and −1e9 elsewhere. −1e9 rather than −inf keeps a fully padded row finite (softmax
 * of equal values) instead of NaN. Positions count from the cache's start, so a window holds
 * in decoding exactly as in one pass.
 *
 *   attention_mask [B,T] ─Shape→T ┐           ┌ Range(0,T) → key positions [1,T]
 *   input_ids [B,S] ─────Shape→S ─┴ Range(T−S,T) → query positions [S,1] ─LessOrEqual→ causal [S,T]
 *   (window: query − key < window ─And→ causal)
 *   causal ∧ (attention_mask = 1) [B,1,S,T] ─Where(0, −1e9)→ bias
 */
export function attentionBias(g: Graph, prefix: string, inputIds: Value, attentionMask: Value, window: number | null = null): Value {
  const zero = g.int64(0);
  const one = g.int64(1);
  const total = op.gather(g, `${prefix}/total_seq/Gather`, op.shapeOf(g, `${prefix}/total_seq/Shape`, attentionMask), one);
  const seq = op.gather(g, `${prefix}/seq/Gather`, op.shapeOf(g, `${prefix}/seq/Shape`, inputIds), one);
  const past = op.sub(g, `${prefix}/past_seq/Sub`, total, seq);
  const queryPos = op.range(g, `${prefix}/query_positions/Range`, past, total, one, 'seq');
  const keyPos = op.range(g, `${prefix}/key_positions/Range`, zero, total, one, 'total_seq');
  const keys = op.unsqueeze(g, `${prefix}/key_positions/Unsqueeze`, keyPos, [0]);
  const queries = op.unsqueeze(g, `${prefix}/query_positions/Unsqueeze`, queryPos, [1]);
  let causal = op.lessOrEqual(g, `${prefix}/causal/LessOrEqual`, keys, queries);
  if (window !== null) {
    // key > query − window, i.e. query − key < window.
    const oldest = op.sub(g, `${prefix}/window/Sub`, queries, g.int64(window));
    causal = op.and(g, `${prefix}/window/And`, causal, op.greater(g, `${prefix}/window/Greater`, keys, oldest));
  }
  const padding = op.unsqueeze(
    g,
    `${prefix}/padding/Unsqueeze`,
    op.equal(g, `${prefix}/padding/Equal`, attentionMask, g.int64(1)),
    [1, 2],
  );
  const allowed = op.and(g, `${prefix}/allowed/And`, causal, padding);
  return op.where(g, `${prefix}/Where`, allowed, g.float32(0), g.float32(-1e9));
}

/**
 * Each layer's attention bias by its window: the graph's full causal bias for null, and one
 * sliding bias per distinct window (`${prefix}_${window}`), built the first time a layer asks.
 */
export function windowedBiases(g: Graph, prefix: string, inputIds: Value, attentionMask: Value, full: Value): (window: number | null) => Value {
  const built = new Map<number, Value>();
  return (window) => {
    if (window === null) return full;
    if (!built.has(window)) built.set(window, attentionBias(g, `${prefix}_${window}`, inputIds, attentionMask, window));
    return built.get(window)!;
  };
}

/** [B, S, heads·D] → [B, heads, S, D]. */
export function splitHeads(g: Graph, prefix: string, x: Value, heads: number, headDim: number): Value {
  const r = op.reshape(g, `${prefix}/Reshape`, x, [0, 0, heads, headDim]);
  return op.transpose(g, `${prefix}/Transpose`, r, [0, 2, 1, 3]);
}

/** Appends the new keys or values to the cache along the sequence axis: [B,Hkv,P,D] ++ [B,Hkv,S,D]. */
export function appendCache(g: Graph, name: string, past: Value, current: Value): Value {
  return op.concat(g, name, [past, current], 2, 'total_seq');
}

export interface AttentionShape {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
}

/** Variants of the scores: the families that differ from plain scaled dot-product say so here. */
export interface AttentionOptions {
  /** Multiplies q before q·kᵀ (default 1/√D; GPT-Neo uses 1, Gemma 2 query_pre_attn_scalar^−½). */
  scale?: number;
  /** Soft-capping of the scores, cap·tanh(s/cap), before the bias (Gemma 2). */
  softcap?: number | null;
}

/**
 * Scaled dot-product attention with grouped-query heads, without copying K/V per query head:
 * the H = Hkv·R query heads are regrouped as [B, Hkv, R·S, D] so each cached key/value head
 * is read once (HF's repeat_kv pairs query head h with kv head ⌊h/R⌋, which is exactly this
 * contiguous grouping).
 *
 *   q [B,H,S,D]·D^−½ ─Reshape→ [B,Hkv,R·S,D] ─MatMul(kᵀ)→ [B,Hkv,R·S,T] ─Reshape→ [B,H,S,T]
 *     + bias [B,1,S,T] ─Softmax→ ─Reshape→ [B,Hkv,R·S,T] ─MatMul(v)→ [B,Hkv,R·S,D]
 *     ─Reshape→ [B,H,S,D] ─Transpose→ [B,S,H,D] ─Reshape→ [B,S,H·D]
 */
export function attention(
  g: Graph,
  prefix: string,
  q: Value,
  k: Value,
  v: Value,
  bias: Value,
  shape: AttentionShape,
  options: AttentionOptions = {},
): Value {
  const { numHeads, numKvHeads, headDim } = shape;
  const [B, , S] = q.shape;
  const T = k.shape[2];
  const R = numHeads / numKvHeads;
  const RS = typeof S === 'number' ? R * S : `${R}*${S}`;
  const grouped = numHeads !== numKvHeads;
  const scale = options.scale ?? 1 / Math.sqrt(headDim);
  let qs = scale === 1 ? q : op.mul(g, `${prefix}/scale/Mul`, q, g.float32(scale));
  if (grouped) qs = op.reshape(g, `${prefix}/q_groups/Reshape`, qs, [0, numKvHeads, -1, headDim], [B, numKvHeads, RS, headDim]);
  const kt = op.transpose(g, `${prefix}/key_t/Transpose`, k, [0, 1, 3, 2]);
  let scores = op.matMul(g, `${prefix}/scores/MatMul`, qs, kt);
  if (grouped) scores = op.reshape(g, `${prefix}/scores/Reshape`, scores, [0, numHeads, -1, 0], [B, numHeads, S, T]);
  if (options.softcap) {
    const cap = options.softcap;
    const capped = op.tanh(g, `${prefix}/softcap/Tanh`, op.mul(g, `${prefix}/softcap/Div`, scores, g.float32(1 / cap)));
    scores = op.mul(g, `${prefix}/softcap/Mul`, capped, g.float32(cap));
  }
  scores = op.add(g, `${prefix}/bias/Add`, scores, bias);
  let probs = op.softmax(g, `${prefix}/Softmax`, scores, -1);
  if (grouped) probs = op.reshape(g, `${prefix}/probs/Reshape`, probs, [0, numKvHeads, -1, 0], [B, numKvHeads, RS, T]);
  let ctx = op.matMul(g, `${prefix}/context/MatMul`, probs, v);
  if (grouped) ctx = op.reshape(g, `${prefix}/context/Reshape`, ctx, [0, numHeads, -1, headDim], [B, numHeads, S, headDim]);
  const merged = op.transpose(g, `${prefix}/merge/Transpose`, ctx, [0, 2, 1, 3]);
  return op.reshape(g, `${prefix}/merge/Reshape`, merged, [0, 0, numHeads * headDim]);
}

/** Keeps only the last position, [B, S, C] → [B, 1, C] (generation needs no other logits). */
export function lastPosition(g: Graph, prefix: string, x: Value): Value {
  return op.slice(g, `${prefix}/Slice`, x, [-1], [op.SLICE_END], [1]);
}

/**
 * RMSNorm: x / √(mean(x²) + ε) · γ, emitted as Pow → ReduceMean → Add → Sqrt → Div → Mul,
 * the pattern ORT's SimplifiedLayerNormFusion turns into one kernel.
 */
export function rmsNorm(g: Graph, prefix: string, x: Value, weight: Value, epsilon: number): Value {
  const sq = op.pow(g, `${prefix}/Pow`, x, g.float32(2));
  const mean = op.reduceMean(g, `${prefix}/ReduceMean`, sq, [-1], true);
  const std = op.sqrt(g, `${prefix}/Sqrt`, op.add(g, `${prefix}/Add`, mean, g.float32(epsilon)));
  return op.mul(g, `${prefix}/Mul`, op.div(g, `${prefix}/Div`, x, std), weight);
}

/**
 * Gemma's RMSNorm, x / √(mean(x²) + ε) · (1 + γ): the stored γ is an offset from 1 (zeros at
 * init), so the scale is 1 + γ, added in float32 as transformers does before the product.
 */
export function rmsNormOnePlus(g: Graph, prefix: string, x: Value, weight: Value, epsilon: number): Value {
  return rmsNorm(g, prefix, x, op.add(g, `${prefix}/scale/Add`, weight, g.float32(1)), epsilon);
}

/** Soft-capping, cap · tanh(x / cap): Gemma 2's final logits (the scores use attention's `softcap`). */
export function softcap(g: Graph, prefix: string, x: Value, cap: number): Value {
  const t = op.tanh(g, `${prefix}/Tanh`, op.mul(g, `${prefix}/Div`, x, g.float32(1 / cap)));
  return op.mul(g, `${prefix}/Mul`, t, g.float32(cap));
}

/** RoPE tables shared by every layer: cos and sin with the rotate-half sign folded in, [B,1,S,D]. */
export interface RotaryTables {
  cos: Value;
  /** sin with its first half negated, so rotate_half(x)·sin = swap_halves(x)·signedSin. */
  signedSin: Value;
}

/** Longrope's additions to the plain tables (Phi-3's rope_scaling; see models/rope.ts). */
export interface RotaryOptions {
  /** Multiplies cos and sin (longrope's attention_factor). */
  scale?: number;
  /**
   * Frequencies that replace `invFreq` for the whole run once its largest position id is ≥
   * `from`: transformers switches to longrope's long factors when max(position_ids) + 1
   * exceeds original_max_position_embeddings.
   */
  long?: { invFreq: Float32Array; from: number };
}

/**
 * Rotary tables from position_ids and the inverse frequencies (R/2 of them, R the rotated
 * features of a head):
 *
 *   position_ids [B,S] ─Cast→ ─Unsqueeze→ [B,S,1] ·inv_freq [R/2] → θ [B,S,R/2]
 *   θ ─Cos/Sin→ (·scale) ─Concat(halves)→ [B,S,R] ─Unsqueeze→ [B,1,S,R]
 *   (long: max(position_ids) ≥ from ─Where→ long inv_freq instead)
 */
export function rotaryTables(g: Graph, prefix: string, positionIds: Value, invFreq: Float32Array, options: RotaryOptions = {}): RotaryTables {
  const pos = op.unsqueeze(g, `${prefix}/positions/Unsqueeze`, op.cast(g, `${prefix}/positions/Cast`, positionIds, 'float32'), [-1]);
  let freqs = g.constant('float32', [invFreq.length], invFreq, `${prefix}/inv_freq`);
  if (options.long) {
    // An integer path with no parameter on it: ReduceMax needs no gradient rule.
    const maxPos = op.reduceMax(g, `${prefix}/max_position/ReduceMax`, positionIds, [0, 1], false);
    const isLong = op.greater(g, `${prefix}/long/Greater`, maxPos, g.int64(options.long.from - 1));
    const longFreqs = g.constant('float32', [invFreq.length], options.long.invFreq, `${prefix}/long_inv_freq`);
    freqs = op.where(g, `${prefix}/inv_freq/Where`, isLong, longFreqs, freqs);
  }
  const theta = op.mul(g, `${prefix}/theta/Mul`, pos, freqs);
  let c = op.cos(g, `${prefix}/Cos`, theta);
  let s = op.sin(g, `${prefix}/Sin`, theta);
  if (options.scale !== undefined && options.scale !== 1) {
    c = op.mul(g, `${prefix}/cos/scale/Mul`, c, g.float32(options.scale));
    s = op.mul(g, `${prefix}/sin/scale/Mul`, s, g.float32(options.scale));
  }
  const cos = op.concat(g, `${prefix}/cos/Concat`, [c, c], -1);
  const signedSin = op.concat(g, `${prefix}/sin/Concat`, [op.neg(g, `${prefix}/sin/Neg`, s), s], -1);
  return {
    cos: op.unsqueeze(g, `${prefix}/cos/Unsqueeze`, cos, [1]),
    signedSin: op.unsqueeze(g, `${prefix}/sin/Unsqueeze`, signedSin, [1]),
  };
}

/**
 * Applies RoPE to x [B, heads, S, D] in HF's rotate-half convention:
 * x·cos + rotate_half(x)·sin, where rotate_half(x) = [−x₂, x₁] = [x₂, x₁]·[−1, +1].
 */
export function applyRotary(g: Graph, prefix: string, x: Value, rope: RotaryTables): Value {
  const half = (x.shape[3] as number) / 2;
  const [x1, x2] = op.split(g, `${prefix}/Split`, x, [half, half], -1);
  const swapped = op.concat(g, `${prefix}/Concat`, [x2, x1], -1);
  return op.add(
    g,
    `${prefix}/Add`,
    op.mul(g, `${prefix}/cos/Mul`, x, rope.cos),
    op.mul(g, `${prefix}/sin/Mul`, swapped, rope.signedSin),
  );
}

/**
 * RoPE on the first R features of each head only (partial_rotary_factor < 1; R from the
 * tables), the other D − R passed through as transformers' apply_rotary_pos_emb does:
 *
 *   x [B,h,S,D] ─Split→ [.., R] ─applyRotary→ ┐
 *               └────→ [.., D−R] ─────────────┴ Concat → [B,h,S,D]
 */
export function applyPartialRotary(g: Graph, prefix: string, x: Value, rope: RotaryTables): Value {
  const D = x.shape[3] as number;
  const R = rope.cos.shape[3] as number;
  if (R === D) return applyRotary(g, prefix, x, rope);
  const [rot, pass] = op.split(g, `${prefix}/partial/Split`, x, [R, D - R], -1);
  return op.concat(g, `${prefix}/partial/Concat`, [applyRotary(g, prefix, rot, rope), pass], -1);
}
