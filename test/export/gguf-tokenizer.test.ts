/**
 * The tokenizer.ggml.* keys themselves (no llama.cpp needed; the round trip through llama.cpp
 * is gguf-tokenizer-llama-cpp.test.ts): how each kind of BPE vocabulary is written.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DecoderConfig, GgufSpec } from '../../src/models/architecture.js';
import { tokenizerMetadata } from '../../src/export/gguf-tokenizer.js';
import { byteLevelBpeTokenizerJson, charTokenizerFiles } from '../../src/models/tokenizer.js';

const spec = { tokenizerPre: 'default' } as GgufSpec;
const cfg = { vocabSize: 0, bosTokenId: null, eosTokenId: null } as unknown as DecoderConfig;

function metadata(tokenizerJson: object, name = 'model'): Record<string, unknown> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-gguf-tok-'));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  const kv = tokenizerMetadata(dir, cfg, spec, name);
  fs.rmSync(dir, { recursive: true });
  return Object.fromEntries([...kv].map(([k, v]) => [k, v.value]));
}

describe('GGUF tokenizer metadata', () => {
  it('a character-level vocabulary is respelled in the byte alphabet, with merges that rebuild multi-byte characters', () => {
    const m = metadata(charTokenizerFiles(' \naé日').tokenizerJson);
    expect(m['tokenizer.ggml.model']).toBe('gpt2');
    // ' ' → Ġ, '\n' → Ċ, 'é' = C3 A9 → Ã©, '日' = E6 97 A5 → æĹ¥ (GPT-2's bytes_to_unicode).
    expect(m['tokenizer.ggml.tokens']).toEqual(['Ċ', 'Ġ', 'a', 'Ã©', 'æĹ¥']);
    expect(m['tokenizer.ggml.merges']).toEqual(['Ã ©', 'æ Ĺ', 'æĹ ¥']);
    expect(m['tokenizer.ggml.add_bos_token']).toBe(false);
  });

  it('a byte-level vocabulary keeps its tokens and merges, with GPT-2\'s pre-tokenizer', () => {
    const m = metadata(byteLevelBpeTokenizerJson({ 'Ġ': 0, t: 1, h: 2, th: 3, '<|endoftext|>': 4 }, 't h\n', ['<|endoftext|>']));
    expect(m).toMatchObject({
      'tokenizer.ggml.model': 'gpt2', 'tokenizer.ggml.pre': 'gpt-2', 'tokenizer.ggml.tokens': ['Ġ', 't', 'h', 'th', '<|endoftext|>'],
      'tokenizer.ggml.token_type': [1, 1, 1, 1, 3], 'tokenizer.ggml.merges': ['t h'],
    });
  });

  it("Llama 3's and Qwen 2's split regexes name llama.cpp's pre-tokenizer; an unknown one falls back to the architecture's", () => {
    const splitThenBytes = (regex: string) => ({
      ...byteLevelBpeTokenizerJson({ a: 0 }, ''),
      pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated' }, { type: 'ByteLevel', use_regex: false }] },
    });
    const words = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|";
    const rest = "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    expect(metadata(splitThenBytes(`${words}\\p{N}{1,3}${rest}`))['tokenizer.ggml.pre']).toBe('llama-bpe');
    expect(metadata(splitThenBytes(`${words}\\p{N}${rest}`))['tokenizer.ggml.pre']).toBe('qwen2');
    expect(metadata(splitThenBytes('\\d+'))['tokenizer.ggml.pre']).toBe('default');
  });

  it('a SentencePiece-style vocabulary is a llama model: byte tokens typed, merged pieces scored by merge rank, BOS added as its post-processor does', () => {
    const m = metadata({
      added_tokens: [{ id: 0, content: '<unk>', special: true }, { id: 1, content: '<s>', special: true }],
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '\u2581' }, { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' }] },
      post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>' } }, { Sequence: { id: 'A' } }] },
      model: { type: 'BPE', byte_fallback: true, unk_token: '<unk>', vocab: { '<unk>': 0, '<s>': 1, '<0x0A>': 2, '\u2581': 3, a: 4, b: 5, ab: 6, '\u2581ab': 7 }, merges: ['a b', '\u2581 ab'] },
    });
    expect(m).toMatchObject({
      'tokenizer.ggml.model': 'llama', 'tokenizer.ggml.token_type': [2, 3, 6, 1, 1, 1, 1, 1],
      'tokenizer.ggml.scores': [-2, -2, -2, -2, -2, -2, 0, -1], 'tokenizer.ggml.add_space_prefix': true,
      'tokenizer.ggml.add_bos_token': true, 'tokenizer.ggml.unknown_token_id': 0,
    });
    expect(m['tokenizer.ggml.merges']).toBeUndefined();
  });

  it('a name llama.cpp would read as Phi-3 is renamed when the vocabulary lacks Phi-3\'s special tokens', () => {
    const chars = charTokenizerFiles('ab').tokenizerJson;
    expect(metadata(chars, 'my-phi3-mini')['general.name']).toBe('my-phi_3-mini');
    expect(metadata(chars, 'gpt2')['general.name']).toBeUndefined();
  });
});
