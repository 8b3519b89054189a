/**
 * An ONNX Runtime session over a generated decoder graph, with the KV cache kept between
 * calls: `prefill(prompt)` then `step(token)` per generated token. Batch 1. The present
 * key/value tensors ORT returns become the next call's past inputs as they are (ORT copies
 * every output once already; we add no copy of our own). The session remembers which token
 * ids its cache holds, so `resume(prompt)` (a chat's next turn) runs only what follows the
 * part of the prompt already cached.
 */
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { UserError } from '../core/tool.js';
import { writeOnnx } from '../graph/onnx-writer.js';
import { buildDecoderGraph, type Architecture, type DecoderConfig } from '../models/architecture.js';
import { resolveArchitecture } from '../models/index.js';
import type { Weights } from '../models/tensor.js';
import { useQuantizedOps } from '../export/quantized-ops.js';
import type { QuantizedMatrix } from '../transforms/blocks.js';
import { type Decoder, keepPositions, reusablePrefix } from './decoder.js';

export interface DecoderSessionOptions {
  /** Logits for the last position only (generation, default) or for every position (scoring). */
  logits?: 'last' | 'all';
  /** ORT intra-op threads; default: the number of cores. */
  threads?: number;
  /** Quantized weights (by name) to run through the integer kernels (export/quantized-ops.ts) instead of their float copies. */
  quantized?: ReadonlyMap<string, QuantizedMatrix>;
}

interface KvCache {
  key: ort.Tensor;
  value: ort.Tensor;
}

/**
 * ORT options of a decoder session. Intra-op threads sleep between ops instead of spinning:
 * a decode step is hundreds of small ops, and on a shared 2-core machine a spinning thread
 * takes the core its sibling (or the sampler's own JS) needs. Measured on gpt2-124M, 2 threads,
 * interleaved runs at load 4–6: fp32 11.3 → 16.8, int8 17.1 → 24.3, int4 18.3 → 35.3 tokens/s.
 */
export function decoderSessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { 'intra_op.allow_spinning': '0' } },
  };
}

/** Turns an ORT failure into one line for people; node names and internals stay in `cause`. */
export function ortError(err: unknown, doing: string): UserError {
  const raw = err instanceof Error ? err.message : String(err);
  let reason = 'the runtime rejected the model or its inputs';
  if (/bad_alloc|Failed to allocate|out of memory/i.test(raw)) reason = 'out of memory; try a smaller model or a shorter sequence';
  else if (/out of (data )?bounds|out of range/i.test(raw)) reason = 'an index is out of range (token id or position too large)';
  else if (/invalid dimensions|Invalid rank|shape/i.test(raw)) reason = 'input shapes do not match the model';
  return new UserError(`onnxruntime failed while ${doing}: ${reason} (run with --debug for details)`, { cause: err });
}

export class DecoderSession implements Decoder {
  private cache: KvCache[] = [];
  private past = 0;
  /** The token ids whose keys and values the cache holds, in order (length `past`). */
  private ids: number[] = [];

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly config: DecoderConfig,
    readonly logitsMode: 'last' | 'all',
  ) {
    this.reset();
  }

  /** Builds the graph for (architecture, config), bakes in the weights and opens a session. */
  static async create<C extends DecoderConfig>(
    arch: Architecture<C>,
    cfg: C,
    weights: Weights,
    options: DecoderSessionOptions = {},
  ): Promise<DecoderSession> {
    const logits = options.logits ?? 'last';
    for (const p of arch.parameters(cfg)) {
      const t = weights.get(p.name);
      if (!t) throw new UserError(`the weights lack ${p.name} that a ${cfg.modelType} model with this config.json needs`);
      if (t.shape.join() !== p.shape.join()) {
        throw new UserError(`${p.name} has shape [${t.shape}] but config.json implies [${p.shape}]; the config and the weights disagree`);
      }
    }
    const graph = buildDecoderGraph(arch, cfg, { logits });
    if (options.quantized?.size) useQuantizedOps(graph, options.quantized);
    const bytes = writeOnnx(graph, { weights });
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, decoderSessionOptions(options.threads ?? os.availableParallelism()));
    } catch (err) {
      throw ortError(err, 'loading the model');
    }
    return new DecoderSession(session, cfg, logits);
  }

  /** The same from a config.json object: its model_type picks the architecture. */
  static async fromConfig(config: Record<string, unknown>, weights: Weights, options: DecoderSessionOptions = {}): Promise<DecoderSession> {
    const { arch, cfg } = resolveArchitecture(config);
    return DecoderSession.create(arch, cfg, weights, options);
  }

  /** Tokens in the KV cache. */
  get pastLength(): number {
    return this.past;
  }

  /** Empties the KV cache. */
  reset(): void {
    const { numLayers, numKvHeads, headDim } = this.config;
    const empty = () => new ort.Tensor('float32', new Float32Array(0), [1, numKvHeads, 0, headDim]);
    this.cache = Array.from({ length: numLayers }, () => ({ key: empty(), value: empty() }));
    this.past = 0;
    this.ids = [];
  }

  /** The token ids in the KV cache, oldest first. */
  get cachedIds(): readonly number[] {
    return this.ids;
  }

  /**
   * Continues from the cache: keeps the longest prefix of `ids` the cache already holds,
   * drops what the cache holds beyond it, and runs the rest — as llama.cpp's server reuses a
   * slot's cache for the common prefix of the next prompt. At least the last token always
   * runs (its logits pick the next token); a prompt sharing nothing is a fresh prefill.
   * Positions past the prefix depend only on earlier tokens (causal attention), so the logits
   * equal a fresh prefill's up to float rounding.
   */
  async resume(ids: readonly number[]): Promise<{ logits: Float32Array; reused: number }> {
    const keep = reusablePrefix(this.ids, ids);
    if (keep <= 0) return { logits: await this.prefill(ids), reused: 0 };
    if (keep < this.past) this.truncate(keep);
    return { logits: await this.step(ids.slice(keep)), reused: keep };
  }

  /** Keeps the first `length` positions of every layer's cache ([1, heads, T, headDim] → [1, heads, length, headDim]). */
  private truncate(length: number): void {
    const { numKvHeads, headDim } = this.config;
    const T = this.past;
    const cut = (t: ort.Tensor): ort.Tensor =>
      new ort.Tensor('float32', keepPositions(t.data as Float32Array, numKvHeads, T, length, headDim), [1, numKvHeads, length, headDim]);
    this.cache = this.cache.map((c) => ({ key: cut(c.key), value: cut(c.value) }));
    this.past = length;
    this.ids = this.ids.slice(0, length);
  }

  /** Starts over with `ids` as the prompt; returns its logits (see `step`). */
  async prefill(ids: ArrayLike<number>): Promise<Float32Array> {
    this.reset();
    return this.step(ids);
  }

  /**
   * Feeds `ids` after the cached tokens and caches them. Returns the last position's logits
   * [vocab] in 'last' mode, or every new position's logits [ids.length · vocab] in 'all' mode.
   */
  async step(ids: ArrayLike<number> | number): Promise<Float32Array> {
    const tokens = typeof ids === 'number' ? [ids] : Array.from(ids);
    this.check(tokens);
    const S = tokens.length;
    const T = this.past + S;
    const stale = this.config.recomputeCacheAt;
    if (stale !== undefined && this.past > 0 && this.past <= stale && T > stale) {
      // Past this length every position is encoded anew (phi3's longrope): run it all again.
      const all = [...this.ids, ...tokens];
      const logits = await this.prefill(all);
      return this.logitsMode === 'all' ? logits.subarray((all.length - S) * this.config.vocabSize) : logits;
    }
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [1, S]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: S }, (_, i) => BigInt(this.past + i)), [1, S]),
    };
    this.cache.forEach((c, i) => {
      feeds[`past_key_values.${i}.key`] = c.key;
      feeds[`past_key_values.${i}.value`] = c.value;
    });
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run(feeds);
    } catch (err) {
      throw ortError(err, 'running the model');
    }
    this.cache = this.cache.map((_, i) => ({ key: out[`present.${i}.key`], value: out[`present.${i}.value`] }));
    this.past = T;
    this.ids.push(...tokens);
    return out.logits.data as Float32Array;
  }

  /** Frees the native session. */
  async release(): Promise<void> {
    await this.session.release();
  }

  private check(tokens: number[]): void {
    const { vocabSize, maxPositions } = this.config;
    if (tokens.length === 0) throw new UserError('no tokens to run; give a non-empty prompt');
    for (const t of tokens) {
      if (!Number.isInteger(t) || t < 0 || t >= vocabSize) {
        throw new UserError(`token id ${t} is outside the model's vocabulary (0..${vocabSize - 1}); the tokenizer does not match the model`);
      }
    }
    if (this.past + tokens.length > maxPositions) {
      throw new UserError(`the sequence would reach ${this.past + tokens.length} tokens, past the model's ${maxPositions} positions; use a shorter prompt or fewer new tokens`);
    }
  }
}
