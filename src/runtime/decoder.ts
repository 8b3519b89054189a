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
