/**
 * Tokenizers of model directories, through @huggingface/tokenizers (pure JS): encode, decode,
 * an incremental decoder for streaming, and the EOS/BOS ids generation needs. Also builds
 * `tokenizer.json` for GPT-2-style directories (vocab.json + merges.txt only) and for
 * character-level models.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { UserError } from '../core/tool.js';

type Json = Record<string, unknown>;

/** tokenizer_config.json may give a special token as a string or as an AddedToken object. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return undefined;
}

function idList(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

export interface EncodeOptions {
  /** Add the special tokens the post-processor defines (BOS for LLaMA). Default true. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave out special tokens such as `<|endoftext|>`. Default false. */
  skipSpecialTokens?: boolean;
}

/** Where special token ids may come from besides the tokenizer files. */
export interface TokenizerSources {
  config?: Json;
  generationConfig?: Json;
}

/** A loaded tokenizer with the ids generation needs. */
export class TextTokenizer {
  /** The EOS id generation stops at first (undefined when the model has none). */
  readonly eosTokenId: number | undefined;
  /** Every id that ends generation (generation_config may list several). */
  readonly eosTokenIds: number[];
  readonly bosTokenId: number | undefined;
  /** Vocabulary size including added tokens. */
  readonly vocabSize: number;
  /**
   * A BPE model with no unknown token silently drops characters it lacks (both here and in
   * Python tokenizers). For tokenizers whose tokens spell the text exactly (no normalizer,
   * isolating or no pre-tokenizer, no post-processor: the character-level ones) we check and say so instead.
   */
  private readonly checkSpelling: boolean;

  constructor(private readonly inner: Tokenizer, tokenizerJson: Json, tokenizerConfig: Json, sources: TokenizerSources = {}) {
    const byName = (key: string) => {
      const name = tokenContent(tokenizerConfig[key]);
      return name === undefined ? undefined : inner.token_to_id(name);
    };
    // generation_config wins (it is what transformers' generate() reads), then config.json.
    const gen = sources.generationConfig ?? {};
    const cfg = sources.config ?? {};
    const eos = idList(gen.eos_token_id);
    if (!eos.length) eos.push(...idList(cfg.eos_token_id));
    const eosFromTok = byName('eos_token');
    if (!eos.length && eosFromTok !== undefined) eos.push(eosFromTok);
    this.eosTokenIds = eos;
    this.eosTokenId = eos[0];
    this.bosTokenId = idList(gen.bos_token_id)[0] ?? idList(cfg.bos_token_id)[0] ?? byName('bos_token');
    this.vocabSize = inner.get_vocab(true).size;
    const json = tokenizerJson as { model?: Json; normalizer?: unknown; post_processor?: unknown; pre_tokenizer?: Json | null };
    this.checkSpelling = json.model?.type === 'BPE' && json.model.unk_token == null && !json.model.byte_fallback
      && json.normalizer == null && json.post_processor == null
      && (json.pre_tokenizer == null || (json.pre_tokenizer.type === 'Split' && json.pre_tokenizer.behavior === 'Isolated'));
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const enc = this.inner.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true });
    if (this.checkSpelling && enc.tokens.join('') !== text) {
      const spelled = enc.tokens.join('');
      let i = 0;
      while (i < text.length && text[i] === spelled[i]) i++;
      const ch = String.fromCodePoint(text.codePointAt(i) ?? 0);
      throw new UserError(`the tokenizer has no token for ${JSON.stringify(ch)} (at character ${i}); remove it from the text`);
    }
    return enc.ids;
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    if (ids.length === 0) return ''; // the library rejects an empty list
    return this.inner.decode([...ids], { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  /** The token string of an id (e.g. `Ġthe`), for inspection tools. */
  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }

  /** A decoder for streaming: push ids as they are generated, print what it returns. */
  streamDecoder(opts: DecodeOptions = {}): StreamDecoder {
    return new StreamDecoder((ids) => this.decode(ids, opts));
  }
}

/**
 * Turns a growing id sequence into text deltas. Decoding token by token prints garbage when
 * a character spans tokens (byte-level BPE splits UTF-8) and loses spaces that depend on the
 * neighbour (SentencePiece), so it re-decodes a short window of recent ids and emits only
 * the text past what was already emitted, holding back while the tail is an incomplete
 * character (U+FFFD).
 */
export class StreamDecoder {
  private ids: number[] = [];
  /** Start of the window re-decoded for context. */
  private prefixOffset = 0;
  /** End of the ids whose text has been emitted. */
  private readOffset = 0;

  constructor(private readonly decodeIds: (ids: number[]) => string) {}

  /** Add generated ids; returns the newly completed text ('' while a character is incomplete). */
  push(...ids: number[]): string {
    this.ids.push(...ids);
    const prefixText = this.decodeIds(this.ids.slice(this.prefixOffset, this.readOffset));
    const text = this.decodeIds(this.ids.slice(this.prefixOffset));
    if (text.length > prefixText.length && !text.endsWith('\uFFFD')) {
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      return text.slice(prefixText.length);
    }
    return '';
  }

  /** At the end of generation: whatever is still held back (possibly with U+FFFD). */
  flush(): string {
    const prefixText = this.decodeIds(this.ids.slice(this.prefixOffset, this.readOffset));
    const text = this.decodeIds(this.ids.slice(this.prefixOffset));
    this.prefixOffset = this.readOffset = this.ids.length;
    return text.length > prefixText.length ? text.slice(prefixText.length) : '';
  }
}

function readJsonIfExists(file: string): Json | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
  } catch (e) {
    throw new UserError(`${file} is not valid JSON (${(e as Error).message}); fix or re-download it`);
  }
}

/**
 * Load the tokenizer of a model directory: `tokenizer.json`, or one built from
 * `vocab.json` + `merges.txt`. `config.json` and `generation_config.json` are read from the
 * same directory for special token ids unless given.
 */
export function loadTokenizer(dir: string, sources?: TokenizerSources): TextTokenizer {
  const tokenizerConfig = readJsonIfExists(path.join(dir, 'tokenizer_config.json')) ?? {};
  let tokenizerJson = readJsonIfExists(path.join(dir, 'tokenizer.json'));
  if (!tokenizerJson) {
    const vocab = path.join(dir, 'vocab.json');
    const merges = path.join(dir, 'merges.txt');
    if (!fs.existsSync(vocab) || !fs.existsSync(merges)) {
      throw new UserError(`${dir} has no tokenizer.json (nor vocab.json + merges.txt); copy the tokenizer files from the model it came from`);
    }
    const specials = { ...readJsonIfExists(path.join(dir, 'special_tokens_map.json')), ...tokenizerConfig };
    tokenizerJson = byteLevelBpeTokenizerJson(
      JSON.parse(fs.readFileSync(vocab, 'utf8')),
      fs.readFileSync(merges, 'utf8'),
      ['bos_token', 'eos_token', 'unk_token', 'pad_token'].map((k) => tokenContent(specials[k])).filter((t): t is string => !!t),
    );
  }
  const src = sources ?? {
    config: readJsonIfExists(path.join(dir, 'config.json')),
    generationConfig: readJsonIfExists(path.join(dir, 'generation_config.json')),
  };
  return fromJson(tokenizerJson, tokenizerConfig, src, dir);
}

/** A tokenizer from in-memory tokenizer.json / tokenizer_config.json objects. */
export function fromJson(tokenizerJson: Json, tokenizerConfig: Json = {}, sources: TokenizerSources = {}, where = 'tokenizer.json'): TextTokenizer {
  // transformers no longer cleans up spaces before punctuation unless asked; the JS library
  // still does by default, which would break round trips.
  const cfg = { clean_up_tokenization_spaces: false, ...tokenizerConfig };
  let inner: Tokenizer;
  try {
    inner = new Tokenizer(tokenizerJson, cfg);
  } catch (e) {
    throw new UserError(`${where}: unsupported tokenizer (${(e as Error).message})`);
  }
  return new TextTokenizer(inner, tokenizerJson, cfg, sources);
}

/**
 * The tokenizer.json equivalent of a GPT-2-style `vocab.json` + `merges.txt` (byte-level BPE,
 * as `GPT2TokenizerFast` converts it). `specialTokens` that are in the vocab become special
 * added tokens, so they encode as one id.
 */
export function byteLevelBpeTokenizerJson(vocab: Record<string, number>, mergesTxt: string, specialTokens: string[] = []): Json {
  const merges = mergesTxt
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.length > 0 && !l.startsWith('#version'));
  const added = [...new Set(specialTokens)]
    .filter((t) => t in vocab)
    .map((t) => ({ id: vocab[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, vocab, merges,
    },
  };
}

/** What `charTokenizerFiles` returns: the contents of the two files a model dir needs. */
export interface CharTokenizerFiles {
  tokenizerJson: Json;
  tokenizerConfig: Json;
}

/**
 * A character-level tokenizer: one id per distinct character of `text`, in code-point order
 * (as nanoGPT's `sorted(set(text))`), as a BPE model with no merges. The `Split` pre-tokenizer
 * isolates characters and the `Fuse` decoder joins them without separators. An `eosToken`
 * gets the id after the characters.
 */
export function charTokenizerFiles(text: string, opts: { eosToken?: string } = {}): CharTokenizerFiles {
  const chars = [...new Set(Array.from(text))].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const vocab: Record<string, number> = {};
  chars.forEach((c, i) => (vocab[c] = i));
  const added = [];
  const tokenizerConfig: Json = { tokenizer_class: 'PreTrainedTokenizerFast', clean_up_tokenization_spaces: false };
  if (opts.eosToken !== undefined) {
    vocab[opts.eosToken] = chars.length;
    added.push({ id: chars.length, content: opts.eosToken, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    tokenizerConfig.eos_token = opts.eosToken;
  }
  const tokenizerJson: Json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'Split', pattern: { Regex: '.' }, behavior: 'Isolated', invert: false },
    post_processor: null,
    decoder: { type: 'Fuse' },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [],
    },
  };
  return { tokenizerJson, tokenizerConfig };
}
