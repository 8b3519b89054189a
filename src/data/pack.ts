/**
 * Tokenised, packed training data. Each document is tokenised once and the documents are
 * joined into one stream with EOS between them (when the tokenizer has one). The stream is
 * cut into blocks of `max_seq_length + 1` tokens — inputs plus the targets shifted by one —
 * and consecutive blocks overlap by that one token, as nanoGPT's x/y windows do: block i is
 * tokens[i·T … i·T + T] for T = max_seq_length, so every token but the first is a target once
 * and nothing is lost at block edges.
 */
import type { Emitter } from '../core/events.js';
import { UserError } from '../core/tool.js';
import type { TextDataset } from './dataset.js';
import type { SplitName } from './splits.js';
import { hashDocuments, readCachedTokens, tokenCacheKey, writeCachedTokens, type TokenCacheOptions } from './token-cache.js';

/** The tokenizer packing needs: smolbox's TextTokenizer satisfies it. */
export interface DataTokenizer {
  encode(text: string): number[];
  /** Put between documents; null or undefined when the tokenizer has no EOS. */
  eosTokenId: number | null | undefined;
}

/** Blocks of `blockSize` tokens over one stream (plain data: survives structured cloning). */
export interface PackedTokens {
  /** Number of blocks. */
  blocks: number;
  /** Tokens per block: max_seq_length + 1 (inputs and the shifted targets). */
  blockSize: number;
  /** The stream, `blocks·(blockSize − 1) + 1` long; block i starts at i·(blockSize − 1). */
  tokens: Int32Array;
}

/** Training blocks and held-out blocks. */
export interface PackedDataset {
  train: PackedTokens;
  /** Null only when there is no validation split and val_fraction is 0. */
  validation: PackedTokens | null;
  /** `split`: the dataset's own validation split; `fraction`: the last val_fraction of the train tokens. */
  validationSource: 'split' | 'fraction' | 'none';
}

export interface TokenizeOptions {
  cache?: TokenCacheOptions;
  signal?: AbortSignal;
  emit?: Emitter;
}

export interface PackOptions extends TokenizeOptions {
  maxSeqLength: number;
  /** Share of the train tokens held out when the dataset has no validation split (0 = none). */
  valFraction: number;
}

/** Tokenise documents into one stream with EOS between them. */
export function tokenizeDocuments(docs: readonly string[], tokenizer: DataTokenizer, opts: TokenizeOptions & { label?: string } = {}): Int32Array {
  const eos = tokenizer.eosTokenId ?? null;
  const totalChars = docs.reduce((n, d) => n + d.length, 0);
  const label = opts.label ?? 'tokenize';
  const parts: number[][] = [];
  let length = 0;
  let chars = 0;
  let reported = 0;
  for (const [i, doc] of docs.entries()) {
    opts.signal?.throwIfAborted();
    const ids = tokenizer.encode(doc);
    parts.push(ids);
    length += ids.length + (eos !== null && i > 0 ? 1 : 0);
    chars += doc.length;
    // About a hundred progress events at most, whatever the number of documents.
    if (opts.emit && (chars - reported >= totalChars / 100 || i === docs.length - 1)) {
      opts.emit.progress({ label, current: chars, total: totalChars, unit: 'char' });
      reported = chars;
    }
  }
  const out = new Int32Array(length);
  let at = 0;
  for (const [i, ids] of parts.entries()) {
    if (eos !== null && i > 0) out[at++] = eos;
    out.set(ids, at);
    at += ids.length;
  }
  return out;
}

/** Tokenise one split of a dataset, through the cache when one is given. */
export function tokenizeSplit(dataset: TextDataset, split: SplitName, tokenizer: DataTokenizer, opts: TokenizeOptions = {}): Int32Array {
  const docs = dataset.splits[split];
  if (!docs) throw new UserError(`${dataset.name} has no ${split} split`);
  const label = `tokenize ${split}`;
  if (!opts.cache) return tokenizeDocuments(docs, tokenizer, { ...opts, label });
  const key = tokenCacheKey(hashDocuments(docs), opts.cache.tokenizerHash, tokenizer.eosTokenId ?? null);
  const cached = readCachedTokens(opts.cache.dir, key);
  if (cached) return cached;
  const ids = tokenizeDocuments(docs, tokenizer, { ...opts, label });
  writeCachedTokens(opts.cache.dir, key, ids);
  return ids;
}

/** Cut a stream into overlapping blocks of maxSeqLength + 1; a trailing remainder is dropped. */
export function packTokens(stream: Int32Array, maxSeqLength: number, what = 'the dataset'): PackedTokens {
  if (!Number.isInteger(maxSeqLength) || maxSeqLength < 1) throw new RangeError(`maxSeqLength must be a positive integer, got ${maxSeqLength}`);
  const blockSize = maxSeqLength + 1;
  const blocks = stream.length < blockSize ? 0 : Math.floor((stream.length - 1) / maxSeqLength);
  if (blocks < 1) {
    throw new UserError(
      `${what} has ${stream.length} tokens, too few for one block of ${blockSize} (max_seq_length ${maxSeqLength} + 1): lower --max_seq_length or add text`,
    );
  }
  return { blocks, blockSize, tokens: stream.subarray(0, blocks * maxSeqLength + 1) };
}

/** Block i: a view of blockSize tokens (inputs are [0, T), targets [1, T]). */
export function blockAt(packed: PackedTokens, i: number): Int32Array {
  if (!Number.isInteger(i) || i < 0 || i >= packed.blocks) throw new RangeError(`block ${i} out of range [0, ${packed.blocks})`);
  const start = i * (packed.blockSize - 1);
  return packed.tokens.subarray(start, start + packed.blockSize);
}

/**
 * Tokenise and pack a dataset for training: the train split, and for evaluation the dataset's
 * validation split or else the last `valFraction` of the train tokens (train keeps the rest).
 */
export function packDataset(dataset: TextDataset, tokenizer: DataTokenizer, opts: PackOptions): PackedDataset {
  const { maxSeqLength, valFraction } = opts;
  if (!(valFraction >= 0 && valFraction < 1)) throw new RangeError(`valFraction must be in [0, 1), got ${valFraction}`);
  const trainIds = tokenizeSplit(dataset, 'train', tokenizer, opts);
  if (dataset.splits.validation) {
    const valIds = tokenizeSplit(dataset, 'validation', tokenizer, opts);
    return {
      train: packTokens(trainIds, maxSeqLength, `the train split of ${dataset.name}`),
      validation: packTokens(valIds, maxSeqLength, `the validation split of ${dataset.name}`),
      validationSource: 'split',
    };
  }
  if (valFraction === 0) {
    return { train: packTokens(trainIds, maxSeqLength, dataset.name), validation: null, validationSource: 'none' };
  }
  const valLength = Math.floor(trainIds.length * valFraction);
  const cut = trainIds.length - valLength;
  const train = packTokens(trainIds.subarray(0, cut), maxSeqLength, `${dataset.name} without its held-out ${valFraction} (${trainIds.length} tokens in all)`);
  if (valLength < maxSeqLength + 1) {
    throw new UserError(
      `the held-out ${valFraction} of ${dataset.name} is ${valLength} tokens, too few for one block of ${maxSeqLength + 1}: raise --val_fraction, lower --max_seq_length, or add a validation split`,
    );
  }
  return { train, validation: packTokens(trainIds.subarray(cut), maxSeqLength, 'the held-out tokens'), validationSource: 'fraction' };
}
