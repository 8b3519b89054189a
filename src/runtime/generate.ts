/**
 * Text generation around a Decoder (ours or transformers.js'): the prompt in one prefill run, then one decode run
 * per new token with the KV cache, each token picked by `sampleToken` and handed to `onToken`
 * as soon as it exists. Stops at an EOS id, at `maxNewTokens`, at the model's last position,
 * or when the signal is aborted.
 */
import { Random } from '../core/random.js';
import { UserError } from '../core/tool.js';
import { sampleToken, type SamplingOptions } from './sampling.js';
import type { Decoder } from './decoder.js';

export interface GenerateOptions {
  maxNewTokens: number;
  sampling: SamplingOptions;
  /** Seeds the draws: the same seed, prompt and model give the same tokens. */
  seed: number;
  /** Ids that end generation (emitted, like transformers includes EOS in its output). */
  stopIds?: readonly number[];
  signal?: AbortSignal;
  onToken?: (id: number) => void;
  /**
   * Keep the part of the prompt the session's KV cache already holds (a chat's earlier turns)
   * and run only the rest (DecoderSession.resume); otherwise the cache starts empty.
   */
  reuseCache?: boolean;
}

export interface Generation {
  generatedIds: number[];
  stopReason: 'eos' | 'length' | 'positions';
  /** Prompt tokens taken from the KV cache, and those the prefill ran. */
  cachedTokens: number;
  prefillTokens: number;
  /** Seconds spent on the prompt and on the new tokens. */
  prefillS: number;
  decodeS: number;
  /** New tokens per second of decoding (prompt excluded), as llama.cpp's "eval" rate. */
  tokensPerS: number;
}

export async function generate(session: Decoder, promptIds: readonly number[], opts: GenerateOptions): Promise<Generation> {
  if (promptIds.length === 0) throw new UserError('the prompt is empty: give --prompt some text');
  const maxPositions = session.config.maxPositions;
  if (promptIds.length >= maxPositions) {
    throw new UserError(`the prompt has ${promptIds.length} tokens; the model reads at most ${maxPositions - 1} before generating`);
  }
  const rng = new Random(opts.seed);
  const uniform = () => rng.uniform();
  const stop = new Set(opts.stopIds ?? []);
  const seen = new Set<number>(promptIds);
  const generatedIds: number[] = [];
  let stopReason: Generation['stopReason'] = 'length';

  const t0 = performance.now();
  let logits: Float32Array;
  let cachedTokens = 0;
  if (opts.reuseCache) ({ logits, reused: cachedTokens } = await session.resume(promptIds));
  else logits = await session.prefill(promptIds);
  const t1 = performance.now();
  for (;;) {
    if (opts.signal?.aborted) break;
    const id = sampleToken(logits, opts.sampling, seen, uniform);
    generatedIds.push(id);
    seen.add(id);
    opts.onToken?.(id);
    if (stop.has(id)) {
      stopReason = 'eos';
      break;
    }
    if (generatedIds.length >= opts.maxNewTokens) break;
    if (session.pastLength >= maxPositions) {
      stopReason = 'positions';
      break;
    }
    logits = await session.step(id);
  }
  const t2 = performance.now();
  const decodeS = (t2 - t1) / 1000;
  // The first token comes from the prefill's logits; the rest each cost one decode run.
  const decoded = Math.max(0, generatedIds.length - 1);
  return {
    generatedIds,
    stopReason,
    cachedTokens,
    prefillTokens: promptIds.length - cachedTokens,
    prefillS: (t1 - t0) / 1000,
    decodeS,
    tokensPerS: decoded > 0 && decodeS > 0 ? decoded / decodeS : 0,
  };
}
