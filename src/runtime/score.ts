/**
 * Mean negative log-likelihood of a token stream under a model: the stream is cut into
 * windows of `context` inputs, each window's targets are its inputs shifted by one (windows
 * overlap by that one token, so every token but the first is scored exactly once), and each
 * window is one forward run with logits for every position.
 */
import type { Decoder } from './decoder.js';

export interface ScoreOptions {
  /** Tokens per forward run (at most the model's positions). */
  context: number;
  /** Score at most this many tokens. */
  maxTokens?: number;
  signal?: AbortSignal;
  onProgress?: (scored: number, total: number) => void;
}

export interface Score {
  /** Mean NLL per scored token, in nats. */
  nll: number;
  tokens: number;
}

/** −log softmax(row)[target], computed stably. */
export function tokenNll(logits: Float32Array, offset: number, vocab: number, target: number): number {
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) if (logits[offset + v] > max) max = logits[offset + v];
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(logits[offset + v] - max);
  return Math.log(sum) + max - logits[offset + target];
}

export async function scoreTokens(session: Decoder, stream: Int32Array, opts: ScoreOptions): Promise<Score> {
  const total = Math.min(stream.length - 1, opts.maxTokens ?? Infinity);
  const vocab = session.config.vocabSize;
  let scored = 0;
  let sum = 0;
  for (let start = 0; scored < total; start += opts.context) {
    opts.signal?.throwIfAborted();
    const n = Math.min(opts.context, total - scored);
    const logits = await session.prefill(stream.subarray(start, start + n));
    for (let i = 0; i < n; i++) sum += tokenNll(logits, i * vocab, vocab, stream[start + i + 1]);
    scored += n;
    opts.onProgress?.(scored, total);
  }
  return { nll: sum / scored, tokens: scored };
}
