import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  byteLevelBpeTokenizerJson,
  charTokenizerFiles,
  fromJson,
  loadTokenizer,
  StreamDecoder,
} from '../../src/models/tokenizer.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-tok-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** GPT-2's byte → printable character table (printable bytes map to themselves). */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  const table: string[] = [];
  bs.forEach((b, i) => (table[b] = String.fromCodePoint(cs[i])));
  return table;
}

/** A tiny GPT-2-style vocab: 256 byte tokens, three merges, and <|endoftext|>. */
function tinyGpt2Files(at: string): Record<string, number> {
  const table = bytesToUnicode();
  const vocab: Record<string, number> = {};
  table.forEach((c, b) => (vocab[c] = b));
  vocab['Ġt'] = 256;
  vocab['he'] = 257;
  vocab['Ġthe'] = 258;
  vocab['<|endoftext|>'] = 259;
  fs.writeFileSync(path.join(at, 'vocab.json'), JSON.stringify(vocab));
  fs.writeFileSync(path.join(at, 'merges.txt'), '#version: 0.2\nĠ t\nh e\nĠt he\n');
  fs.writeFileSync(path.join(at, 'config.json'), JSON.stringify({ model_type: 'gpt2', eos_token_id: 259, bos_token_id: 259 }));
  return vocab;
}

describe('GPT-2 style vocab.json + merges.txt', () => {
  it('builds a byte-level BPE tokenizer that merges, keeps specials whole, and round-trips', () => {
    const vocab = tinyGpt2Files(dir);
    fs.writeFileSync(path.join(dir, 'special_tokens_map.json'), JSON.stringify({ eos_token: '<|endoftext|>' }));
    const tok = loadTokenizer(dir);
    expect(tok.encode(' the')).toEqual([258]);
    expect(tok.encode('he the')).toEqual([257, 258]);
    expect(tok.encode('a<|endoftext|>')).toEqual([vocab['a'], 259]);
    expect(tok.eosTokenId).toBe(259);
    expect(tok.bosTokenId).toBe(259);
    expect(tok.vocabSize).toBe(260);
    for (const text of ['Hello, world! The end .', 'naïve café — 東京 🙂', '  two  spaces\n\nnewlines\t']) {
      expect(tok.decode(tok.encode(text))).toBe(text);
    }
    expect(tok.decode([257, 259], { skipSpecialTokens: true })).toBe('he');
  });

  it('matches the tokenizer.json form it is equivalent to', () => {
    tinyGpt2Files(dir);
    const json = byteLevelBpeTokenizerJson(JSON.parse(fs.readFileSync(path.join(dir, 'vocab.json'), 'utf8')), 'Ġ t\nh e\nĠt he\n');
    expect((json.model as { merges: string[] }).merges).toEqual(['Ġ t', 'h e', 'Ġt he']);
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
    fs.rmSync(path.join(dir, 'vocab.json'));
    expect(loadTokenizer(dir).encode(' the the')).toEqual([258, 258]);
  });

  it('streams multi-byte characters only once they are complete', () => {
    tinyGpt2Files(dir);
    const tok = loadTokenizer(dir);
    const ids = tok.encode('é the 🙂!');
    const stream = tok.streamDecoder();
    const deltas = ids.map((id) => stream.push(id));
    expect(deltas[0]).toBe(''); // first byte of é
    expect(deltas[1]).toBe('é');
    expect(deltas.every((d) => !d.includes('\uFFFD'))).toBe(true);
    expect(deltas.join('') + stream.flush()).toBe('é the 🙂!');
  });

  it('errors when a directory has no tokenizer', () => {
    expect(() => loadTokenizer(dir)).toThrow(/has no tokenizer.json \(nor vocab.json \+ merges.txt\)/);
  });
});

describe('special token ids', () => {
  it('prefers generation_config, then config, then tokenizer_config names', () => {
    const { tokenizerJson } = charTokenizerFiles('abc', { eosToken: '<eos>' });
    expect(fromJson(tokenizerJson, { eos_token: '<eos>' }).eosTokenId).toBe(3);
    expect(fromJson(tokenizerJson, { eos_token: { content: '<eos>' } }, { config: { eos_token_id: 1 } }).eosTokenId).toBe(1);
    const tok = fromJson(tokenizerJson, {}, { generationConfig: { eos_token_id: [2, 3] }, config: { eos_token_id: 1 } });
    expect(tok.eosTokenId).toBe(2);
    expect(tok.eosTokenIds).toEqual([2, 3]);
    expect(fromJson(tokenizerJson, {}).eosTokenId).toBeUndefined();
  });
});

describe('character-level tokenizer', () => {
  const corpus = 'First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n';

  it('gives one id per character in code-point order and round-trips text', () => {
    const { tokenizerJson, tokenizerConfig } = charTokenizerFiles(corpus, { eosToken: '<|endoftext|>' });
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson));
    fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
    const tok = loadTokenizer(dir);
    const chars = [...new Set(corpus)].sort();
    expect(tok.vocabSize).toBe(chars.length + 1);
    expect(tok.encode('\n')).toEqual([0]);
    const text = 'Speak, hear me.\n\nFirst:';
    const ids = tok.encode(text);
    expect(ids).toEqual([...text].map((c) => chars.indexOf(c)));
    expect(tok.decode(ids)).toBe(text);
    expect(tok.encode('me<|endoftext|>').at(-1)).toBe(chars.length);
    expect(tok.eosTokenId).toBe(chars.length);
    const stream = tok.streamDecoder();
    expect(ids.map((id) => stream.push(id)).join('')).toBe(text);
  });

  it('rejects characters outside its vocabulary', () => {
    const tok = fromJson(charTokenizerFiles('ab').tokenizerJson);
    expect(() => tok.encode('abz')).toThrow(/no token for "z"/);
  });
});

describe('StreamDecoder', () => {
  it('emits SentencePiece-style spaces that depend on the previous token', () => {
    // A decoder that, like SentencePiece, drops a leading space at the start of the text.
    const pieces = ['▁Hello', '▁world', '!'];
    const decode = (ids: number[]) => ids.map((i) => pieces[i]).join('').replace(/▁/g, ' ').replace(/^ /, '');
    const s = new StreamDecoder(decode);
    expect([s.push(0), s.push(1), s.push(2)].join('')).toBe('Hello world!');
  });
});
