/**
 * tokenizer.ggml.* keys from a tokenizer.json, so that llama.cpp tokenizes text to our ids and
 * detokenizes our ids to our text. Three kinds of BPE vocabulary, told apart by their
 * pre-tokenizer, normalizer and decoder:
 *
 * - byte-level (GPT-2): tokens are already spelled in GPT-2's byte alphabet (space = `Ġ`);
 *   written as they are, model `gpt2`, with the `pre` whose regex is GPT-2's.
 * - SentencePiece-style (LLaMA): `▁` for spaces, `<0x..>` byte tokens; model `llama`, which
 *   merges by score, so each merged token's score is minus the rank of its merge.
 * - raw (character-level and any BPE whose tokens are plain text): llama.cpp's `gpt2` model
 *   reads every token in the byte alphabet, so tokens and merges are respelled in it, and a
 *   character of several UTF-8 bytes gets merges that rebuild it from its bytes first.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DecoderConfig, GgufSpec } from '../models/architecture.js';
import type { GgufValue } from './gguf-format.js';

type Json = Record<string, unknown>;
interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[]; byte_fallback?: boolean; unk_token?: string | null };
  added_tokens?: { id: number; content: string; special?: boolean }[];
  normalizer?: Json | null;
  pre_tokenizer?: Json | null;
  post_processor?: Json | null;
  decoder?: Json | null;
}

/** llama.cpp's token types (llama_token_type). */
const TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** Every component of a (possibly Sequence-nested) normalizer, pre-tokenizer or decoder. */
function parts(c: Json | null | undefined): Json[] {
  if (!c) return [];
  const inner = (c.normalizers ?? c.pretokenizers ?? c.decoders ?? c.processors) as Json[] | undefined;
  return inner ? inner.flatMap(parts) : [c];
}

/** GPT-2's byte → printable character table (bytes_to_unicode in its encoder.py). */
const BYTE_CHAR: string[] = (() => {
  const table: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCodePoint(printable ? b : 256 + n++);
  }
  return table;
})();
const utf8 = new TextEncoder();
const byteLevel = (text: string): string => Array.from(utf8.encode(text), (b) => BYTE_CHAR[b]).join('');

type Kind = 'byte-level' | 'sentencepiece' | 'raw';

function kindOf(tj: TokenizerJson): Kind {
  const all = [...parts(tj.normalizer), ...parts(tj.pre_tokenizer), ...parts(tj.decoder)];
  if (all.some((p) => p.type === 'ByteLevel')) return 'byte-level';
  const metaspace = all.some((p) => p.type === 'Metaspace' || (p.type === 'Replace' && JSON.stringify(p).includes('\u2581')));
  return tj.model?.byte_fallback || metaspace ? 'sentencepiece' : 'raw';
}

/** The Split regexes of byte-level tokenizers and llama.cpp's names for them (its llama-vocab.cpp pre types). */
const PRE_REGEXES: Record<string, string> = {
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": 'llama-bpe',
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": 'qwen2',
};

/**
 * llama.cpp's pre-tokenizer for a byte-level vocabulary, read off its pre-tokenizer: GPT-2's
 * own regex where ByteLevel applies it, Llama 3's or Qwen 2's Split regex; else the
 * architecture's usual one.
 */
function preOf(tj: TokenizerJson, spec: GgufSpec): string {
  const pre = parts(tj.pre_tokenizer);
  if (pre.length === 1 && pre[0].type === 'ByteLevel' && pre[0].use_regex !== false) return 'gpt-2';
  const split = pre.length === 2 && pre[1].type === 'ByteLevel' && pre[1].use_regex === false ? pre[0] : null;
  const regex = split?.type === 'Split' ? (split.pattern as { Regex?: string } | undefined)?.Regex : undefined;
  return (regex !== undefined && PRE_REGEXES[regex]) || spec.tokenizerPre;
}

/** Whether the post-processor puts a special token before (bos) or after (eos) the text. */
function addsSpecial(tj: TokenizerJson, at: 'bos' | 'eos'): boolean {
  const single = parts(tj.post_processor).find((p) => p.type === 'TemplateProcessing')?.single as Json[] | undefined;
  if (!single?.length) return false;
  return 'SpecialToken' in (at === 'bos' ? single[0] : single[single.length - 1]);
}

/**
 * SentencePiece merges the adjacent pair whose joined piece scores highest: a piece scores minus
 * the rank of the first merge that makes it, and a piece no merge makes scores below them all,
 * so llama.cpp joins pieces in our merge order (`|| 0`: no negative zero).
 */
function mergeScores(tokens: string[], merges: string[]): number[] {
  const rank = new Map<string, number>();
  merges.forEach((m, i) => {
    const merged = m.replace(' ', '');
    if (!rank.has(merged)) rank.set(merged, i);
  });
  return tokens.map((t) => -(rank.get(t) ?? merges.length) || 0);
}

/** Merges that rebuild each character of several UTF-8 bytes from its byte-level spelling, left to right. */
function characterMerges(tokens: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const token of tokens) {
    for (const ch of token) {
      const bytes = byteLevel(ch);
      if (bytes.length < 2) continue;
      const units = Array.from(bytes);
      for (let i = 1; i < units.length; i++) out.add(`${units.slice(0, i).join('')} ${units[i]}`);
    }
  }
  return [...out];
}

/**
 * llama.cpp's vocabulary loader reads general.name too: for a name containing phi3 or phi-3,
 * whatever the architecture, it looks these tokens up unconditionally (to set Phi-3's rstrip
 * attributes) and fails with "_Map_base::at" when the vocabulary lacks one. Such a name is then
 * written as phi_3.
 */
const PHI3_TOKENS = ['</s>', '<unk>', '<s>', '<|endoftext|>'];
function loadableName(name: string, tokens: string[]): string {
  if (!/phi-?3/i.test(name)) return name;
  const have = new Set(tokens);
  return PHI3_TOKENS.every((t) => have.has(t)) ? name : name.replace(/phi-?3/gi, (m) => `${m.slice(0, 3)}_3`);
}

/**
 * tokenizer.ggml.* from a BPE tokenizer.json (empty when there is none), and general.name where
 * the model's `name` would keep llama.cpp from loading this vocabulary.
 */
export function tokenizerMetadata(dir: string, cfg: DecoderConfig, spec: GgufSpec, name: string): Map<string, GgufValue> {
  const kv = new Map<string, GgufValue>();
  const file = path.join(dir, 'tokenizer.json');
  if (!fs.existsSync(file)) return kv;
  const tj = JSON.parse(fs.readFileSync(file, 'utf8')) as TokenizerJson;
  if (tj.model?.type !== 'BPE' || !tj.model.vocab) return kv;
  const kind = kindOf(tj);
  const merges = (tj.model.merges ?? []).map((m) => (Array.isArray(m) ? m.join(' ') : m));
  const tokens: string[] = [];
  const types: number[] = [];
  for (const [tok, id] of Object.entries(tj.model.vocab)) {
    tokens[id] = kind === 'raw' ? byteLevel(tok) : tok;
    types[id] = kind === 'sentencepiece' && /^<0x[0-9A-F]{2}>$/.test(tok) ? TYPE.byte : tok === tj.model.unk_token ? TYPE.unknown : TYPE.normal;
  }
  // Added tokens are matched as raw text by llama.cpp (control and user-defined alike).
  for (const a of tj.added_tokens ?? []) {
    tokens[a.id] = a.content;
    types[a.id] = a.content === tj.model.unk_token ? TYPE.unknown : a.special ? TYPE.control : TYPE.userDefined;
  }
  for (let i = 0; i < Math.max(cfg.vocabSize, tokens.length); i++) if (tokens[i] === undefined) { tokens[i] = `[PAD${i}]`; types[i] = TYPE.unused; }

  if (kind === 'sentencepiece') {
    kv.set('tokenizer.ggml.model', { type: 'string', value: 'llama' });
    kv.set('tokenizer.ggml.tokens', { type: 'string[]', value: tokens });
    kv.set('tokenizer.ggml.scores', { type: 'f32[]', value: mergeScores(tokens, merges) });
    kv.set('tokenizer.ggml.token_type', { type: 'i32[]', value: types });
    const prepends = [...parts(tj.normalizer), ...parts(tj.pre_tokenizer)].some(
      (p) => p.type === 'Prepend' || (p.type === 'Metaspace' && p.prepend_scheme !== 'never' && p.add_prefix_space !== false),
    );
    kv.set('tokenizer.ggml.add_space_prefix', { type: 'bool', value: prepends });
  } else {
    kv.set('tokenizer.ggml.model', { type: 'string', value: 'gpt2' });
    kv.set('tokenizer.ggml.pre', { type: 'string', value: kind === 'byte-level' ? preOf(tj, spec) : spec.tokenizerPre });
    kv.set('tokenizer.ggml.tokens', { type: 'string[]', value: tokens });
    kv.set('tokenizer.ggml.token_type', { type: 'i32[]', value: types });
    const respelled = kind === 'raw' ? [...characterMerges(Object.keys(tj.model.vocab)), ...merges.map((m) => m.split(' ').map(byteLevel).join(' '))] : merges;
    kv.set('tokenizer.ggml.merges', { type: 'string[]', value: respelled });
  }
  kv.set('tokenizer.ggml.add_bos_token', { type: 'bool', value: addsSpecial(tj, 'bos') });
  kv.set('tokenizer.ggml.add_eos_token', { type: 'bool', value: addsSpecial(tj, 'eos') });
  const unk = tj.model.unk_token ? tj.model.vocab[tj.model.unk_token] : undefined;
  if (unk !== undefined) kv.set('tokenizer.ggml.unknown_token_id', { type: 'u32', value: unk });
  const eos = Array.isArray(cfg.eosTokenId) ? cfg.eosTokenId[0] : cfg.eosTokenId;
  if (cfg.bosTokenId !== null) kv.set('tokenizer.ggml.bos_token_id', { type: 'u32', value: cfg.bosTokenId });
  if (eos !== null && eos !== undefined) kv.set('tokenizer.ggml.eos_token_id', { type: 'u32', value: eos });
  if (loadableName(name, tokens) !== name) kv.set('general.name', { type: 'string', value: loadableName(name, tokens) });
  return kv;
}
