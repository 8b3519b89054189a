import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/tool.js';
import { loadTextDataset, type TextDataset } from '../../src/data/dataset.js';
import { blockAt, packDataset, packTokens, tokenizeDocuments, tokenizeSplit, type DataTokenizer } from '../../src/data/pack.js';

/** One id per character (its code point); counts encode calls so cache hits show. */
function charTokenizer(eosTokenId: number | null = 0): DataTokenizer & { calls: number } {
  return {
    calls: 0,
    eosTokenId,
    encode(text: string) {
      this.calls++;
      return [...text].map((c) => c.codePointAt(0)!);
    },
  };
}

const ds = (train: string[], validation?: string[]): TextDataset => ({
  name: 'toy',
  splits: { train, ...(validation ? { validation } : {}) },
  files: {},
  textColumn: 'text',
});

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-pack-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('tokenizeDocuments', () => {
  it('joins documents with EOS between them, and without when the tokenizer has none', () => {
    expect([...tokenizeDocuments(['ab', 'c', 'de'], charTokenizer(0))]).toEqual([97, 98, 0, 99, 0, 100, 101]);
    expect([...tokenizeDocuments(['ab', 'c'], charTokenizer(null))]).toEqual([97, 98, 99]);
  });

  it('reports progress in characters and stops when aborted', () => {
    const events: number[] = [];
    const emit = { log() {}, token() {}, metric() {}, progress: (p: { current: number; total?: number }) => events.push(p.current) };
    tokenizeDocuments(['abc', 'de'], charTokenizer(), { emit });
    expect(events.at(-1)).toBe(5);
    const ac = new AbortController();
    ac.abort();
    expect(() => tokenizeDocuments(['abc'], charTokenizer(), { signal: ac.signal })).toThrow();
  });
});

describe('packTokens', () => {
  it('cuts overlapping blocks of max_seq_length + 1 and drops the remainder', () => {
    const stream = Int32Array.from({ length: 12 }, (_, i) => i);
    const p = packTokens(stream, 4);
    expect(p.blocks).toBe(2);
    expect(p.blockSize).toBe(5);
    expect([...blockAt(p, 0)]).toEqual([0, 1, 2, 3, 4]);
    expect([...blockAt(p, 1)]).toEqual([4, 5, 6, 7, 8]);
    expect(p.tokens.length).toBe(9);
    expect(() => blockAt(p, 2)).toThrow(RangeError);
    expect(packTokens(stream.subarray(0, 5), 4).blocks).toBe(1);
  });

  it('says how many tokens there are and the block size needed when there are too few', () => {
    expect(() => packTokens(new Int32Array(4), 4, 'poems.txt')).toThrow(
      new UserError('poems.txt has 4 tokens, too few for one block of 5 (max_seq_length 4 + 1): lower --max_seq_length or add text'),
    );
  });
});

describe('packDataset', () => {
  it("uses the dataset's own validation split when it has one", () => {
    const p = packDataset(ds(['abcdefghij'], ['vwxyz']), charTokenizer(), { maxSeqLength: 4, valFraction: 0.5 });
    expect(p.validationSource).toBe('split');
    expect(p.train.blocks).toBe(2);
    expect(String.fromCharCode(...blockAt(p.validation!, 0))).toBe('vwxyz');
  });

  it('otherwise holds out the last val_fraction of the train tokens, disjoint from train', () => {
    const text = 'abcdefghijklmnopqrst'; // 20 tokens
    const p = packDataset(ds([text]), charTokenizer(), { maxSeqLength: 4, valFraction: 0.25 });
    expect(p.validationSource).toBe('fraction');
    expect(String.fromCharCode(...p.train.tokens)).toBe('abcdefghijklm'); // 15 tokens kept, 3 blocks
    expect(p.train.blocks).toBe(3);
    expect(String.fromCharCode(...blockAt(p.validation!, 0))).toBe('pqrst');
  });

  it('has no validation with val_fraction 0 and no validation split', () => {
    const p = packDataset(ds(['abcdefghij']), charTokenizer(), { maxSeqLength: 4, valFraction: 0 });
    expect(p).toMatchObject({ validation: null, validationSource: 'none' });
  });

  it('rejects a held-out part too small for one block, and a train split too small', () => {
    expect(() => packDataset(ds(['abcdefghij']), charTokenizer(), { maxSeqLength: 4, valFraction: 0.1 })).toThrow(
      /held-out 0.1 of toy is 1 tokens, too few for one block of 5: raise --val_fraction/,
    );
    expect(() => packDataset(ds(['abc'], ['vwxyz']), charTokenizer(), { maxSeqLength: 4, valFraction: 0 })).toThrow(
      /the train split of toy has 3 tokens, too few for one block of 5/,
    );
  });

  it('packs builtin:tiny_shakespeare with its own validation split', async () => {
    const shakespeare = await loadTextDataset('builtin:tiny_shakespeare', { cwd: dir });
    const p = packDataset(shakespeare, charTokenizer(null), { maxSeqLength: 256, valFraction: 0.05 });
    expect(p.validationSource).toBe('split');
    expect(p.train.blocks).toBe(Math.floor((1003856 - 1) / 256));
    expect(p.validation!.blocks).toBe(Math.floor((55780 - 1) / 256));
  });
});

describe('token cache', () => {
  const cacheOf = (tokenizerHash = 'tok-a') => ({ dir: path.join(dir, 'cache'), tokenizerHash });

  it('a hit returns the same ids without tokenising, and equals skipping the cache', () => {
    const data = ds(['hello world', 'second doc']);
    const tok = charTokenizer();
    const first = tokenizeSplit(data, 'train', tok, { cache: cacheOf() });
    expect(tok.calls).toBe(2);
    const again = tokenizeSplit(data, 'train', tok, { cache: cacheOf() });
    expect(tok.calls).toBe(2);
    expect([...again]).toEqual([...first]);
    expect([...tokenizeSplit(data, 'train', charTokenizer())]).toEqual([...first]);
    const packedCached = packDataset(data, tok, { maxSeqLength: 3, valFraction: 0.3, cache: cacheOf() });
    const packedFresh = packDataset(data, charTokenizer(), { maxSeqLength: 3, valFraction: 0.3 });
    expect(packedCached).toEqual(packedFresh);
  });

  it('misses when the file changes, the tokenizer changes or the EOS id changes', async () => {
    const file = path.join(dir, 'd.txt');
    fs.writeFileSync(file, 'first version');
    const tok = charTokenizer();
    const load = () => loadTextDataset('d.txt', { cwd: dir });
    tokenizeSplit(await load(), 'train', tok, { cache: cacheOf() });
    fs.writeFileSync(file, 'second version');
    const changed = tokenizeSplit(await load(), 'train', tok, { cache: cacheOf() });
    expect(tok.calls).toBe(2);
    expect(String.fromCharCode(...changed)).toBe('second version');
    tokenizeSplit(await load(), 'train', tok, { cache: cacheOf('tok-b') });
    expect(tok.calls).toBe(3);
    expect([...tokenizeSplit(ds(['a', 'b']), 'train', tok, { cache: cacheOf() })]).toEqual([97, 0, 98]);
    const noEos = charTokenizer(null);
    expect([...tokenizeSplit(ds(['a', 'b']), 'train', noEos, { cache: cacheOf() })]).toEqual([97, 98]);
    expect(noEos.calls).toBe(2);
  });

  it('treats a corrupt entry as a miss and rewrites it', () => {
    const data = ds(['abc']);
    const tok = charTokenizer();
    tokenizeSplit(data, 'train', tok, { cache: cacheOf() });
    const [entry] = fs.readdirSync(cacheOf().dir);
    fs.writeFileSync(path.join(cacheOf().dir, entry), 'garbage');
    expect([...tokenizeSplit(data, 'train', tok, { cache: cacheOf() })]).toEqual([97, 98, 99]);
    expect(tok.calls).toBe(2);
    expect(fs.readdirSync(cacheOf().dir)).toEqual([entry]);
  });
});

describe('with a real tokenizer', () => {
  it("packs with smolbox's TextTokenizer (character level, EOS between documents)", async () => {
    const { charTokenizerFiles, fromJson } = await import('../../src/models/tokenizer.js');
    const files = charTokenizerFiles('abcdefgh', { eosToken: '<|endoftext|>' });
    const tok = fromJson(files.tokenizerJson, files.tokenizerConfig);
    const p = packDataset(ds(['abc', 'defgh']), tok, { maxSeqLength: 3, valFraction: 0 });
    const ids = [...p.train.tokens];
    expect(tok.eosTokenId).toBeTypeOf('number');
    // a b c EOS d e f | g h: two blocks of 4 overlapping by one, the remainder dropped.
    expect(ids[3]).toBe(tok.eosTokenId);
    expect(tok.decode(ids.filter((id) => id !== tok.eosTokenId))).toBe('abcdef');
    expect(p.train.blocks).toBe(2);
  });
});
