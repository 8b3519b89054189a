/**
 * What generation and scoring drive: a batch-1 decoder with a KV cache. Our DecoderSession
 * (a generated graph on onnxruntime) is one, and so is a transformers.js model
 * (transformers-js-decoder.ts); runtime/generate.ts and score.ts care for nothing else.
 */
export interface Decoder {
  /** The model's limits: token ids below `vocabSize`, at most `maxPositions` tokens in all. */
  readonly config: { readonly maxPositions: number; readonly vocabSize: number };
  /** Tokens in the KV cache. */
  readonly pastLength: number;
  /**
   * Continues from the cache: keeps the longest prefix of `ids` it already holds (a chat's
   * earlier turns), runs the rest (at least the last token), and returns its logits (see
   * `step`) with how many tokens came from the cache.
   */
  resume(ids: readonly number[]): Promise<{ logits: Float32Array; reused: number }>;
  /** Starts over with `ids` as the prompt; returns its logits (see `step`). */
  prefill(ids: ArrayLike<number>): Promise<Float32Array>;
  /**
   * Feeds `ids` after the cached tokens and caches them. Returns the last position's logits
   * [vocab] for a decoder made for generation, or every new position's [ids.length · vocab]
   * for one made for scoring.
   */
  step(ids: ArrayLike<number> | number): Promise<Float32Array>;
}

/**
 * How many leading tokens of `ids` a cache holding `cached` can keep: their common prefix, less
 * the last token of `ids`, which always runs (its logits pick the next token).
 */
export function reusablePrefix(cached: readonly number[], ids: readonly number[]): number {
  let keep = 0;
  while (keep < cached.length && keep < ids.length && cached[keep] === ids[keep]) keep++;
  return Math.min(keep, ids.length - 1);
}

/** The first `length` of `T` positions of a cached [rows, T, headDim] tensor (rows = batch × heads). */
export function keepPositions<A extends Float32Array>(src: A, rows: number, T: number, length: number, headDim: number): A {
  const out = new (src.constructor as new (n: number) => A)(rows * length * headDim);
  for (let r = 0; r < rows; r++) out.set(src.subarray(r * T * headDim, (r * T + length) * headDim), r * length * headDim);
  return out;
}
