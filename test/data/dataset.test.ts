import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/tool.js';
import { loadTextDataset } from '../../src/data/dataset.js';
import { writeParquet } from './parquet-writer.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-data-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function put(rel: string, content: string | Buffer): string {
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

const load = (spec: string, textColumn?: string) => loadTextDataset(spec, { cwd: dir, textColumn });

describe('loadTextDataset: formats', () => {
  it('reads a .txt file as one document (BOM dropped)', async () => {
    put('play.txt', '\ufeffTo be,\n\nor not to be.\n');
    const ds = await load('play.txt');
    expect(ds.splits).toEqual({ train: ['To be,\n\nor not to be.\n'] });
    expect(ds.name).toBe('play.txt');
    expect(ds.textColumn).toBe('text');
    expect(ds.files.train).toEqual([path.join(dir, 'play.txt')]);
  });

  it('reads .jsonl rows, skipping blank lines, null values and empty strings', async () => {
    put('d.jsonl', '{"text":"one","n":1}\n\n{"text":null}\n{"text":""}\n{"text":"two"}\n');
    expect((await load('d.jsonl')).splits.train).toEqual(['one', 'two']);
  });

  it('reads .json as an array of objects or {data: [...]}, and JSON lines saved as .json', async () => {
    put('a.json', JSON.stringify([{ body: 'x', id: 1 }, { body: 'y', id: 2 }]));
    put('b.json', JSON.stringify({ version: 1, data: [{ text: 'p' }, { text: 'q' }] }));
    put('c.json', '{"text":"l1"}\n{"text":"l2"}\n');
    expect((await load('a.json')).splits.train).toEqual(['x', 'y']);
    expect((await load('a.json')).textColumn).toBe('body');
    expect((await load('b.json')).splits.train).toEqual(['p', 'q']);
    expect((await load('c.json')).splits.train).toEqual(['l1', 'l2']);
  });

  it('reads .csv with quoted delimiters, quotes and newlines; numeric columns are not text', async () => {
    put('d.csv', 'id,text,label\n1,"Hello, ""world""",0\n2,"line one\nline two",1\n');
    const ds = await load('d.csv');
    expect(ds.splits.train).toEqual(['Hello, "world"', 'line one\nline two']);
    put('e.csv', 'id,review\n1,good\n2,"bad, sadly"\n');
    expect((await load('e.csv')).splits.train).toEqual(['good', 'bad, sadly']);
    put('f.tsv', 'text\tid\na\t1\nb\t2\n');
    expect((await load('f.tsv')).splits.train).toEqual(['a', 'b']);
  });

  it('reads a parquet column across row groups, nulls left out', async () => {
    const text = Array.from({ length: 7 }, (_, i) => (i === 3 ? null : `row ${i} ✓`));
    put('d.parquet', writeParquet([
      { name: 'id', type: 'int32', values: [0, 1, 2, 3, 4, 5, 6] },
      { name: 'content', type: 'string', values: text },
    ], 3));
    const ds = await load('d.parquet');
    expect(ds.textColumn).toBe('content');
    expect(ds.splits.train).toEqual(['row 0 ✓', 'row 1 ✓', 'row 2 ✓', 'row 4 ✓', 'row 5 ✓', 'row 6 ✓']);
  });

  it('honours --text_column when several columns hold text', async () => {
    put('d.jsonl', '{"prompt":"a","answer":"b"}\n');
    expect((await load('d.jsonl', 'answer')).splits.train).toEqual(['b']);
  });
});

describe('loadTextDataset: directories and splits', () => {
  it('detects train/validation/test files by name, recursively and sorted', async () => {
    put('train.txt', 'T');
    put('valid.txt', 'V');
    put('test/b.txt', 'B');
    put('test/a.txt', 'A');
    put('README.md', 'not data');
    const ds = await load('.');
    expect(ds.splits).toEqual({ train: ['T'], validation: ['V'], test: ['A', 'B'] });
  });

  it("reads the hub's parquet conversion layout default/<split>/0000.parquet", async () => {
    for (const split of ['train', 'validation', 'test']) {
      put(`default/${split}/0000.parquet`, writeParquet([{ name: 'text', type: 'string', values: [`${split} text`] }], 1));
    }
    const ds = await load('.');
    expect(ds.splits).toEqual({ train: ['train text'], validation: ['validation text'], test: ['test text'] });
  });

  it('reads the upload layout data/<split>-00000-of-00001.parquet, multi-shard in order', async () => {
    put('data/train-00001-of-00002.parquet', writeParquet([{ name: 'text', type: 'string', values: ['second'] }], 1));
    put('data/train-00000-of-00002.parquet', writeParquet([{ name: 'text', type: 'string', values: ['first'] }], 1));
    put('data/validation-00000-of-00001.parquet', writeParquet([{ name: 'text', type: 'string', values: ['held out'] }], 1));
    const ds = await load('.');
    expect(ds.splits).toEqual({ train: ['first', 'second'], validation: ['held out'] });
  });

  it('puts every file in train when none names a split', async () => {
    put('b.txt', 'B');
    put('a/x.jsonl', '{"text":"X"}\n');
    expect((await load('.')).splits).toEqual({ train: ['X', 'B'] });
  });

  it('leaves out files that name no split beside files that do, with a warning', async () => {
    put('train.txt', 'T');
    put('notes.txt', 'N');
    const logs: string[] = [];
    const emit = { log: (m: string) => logs.push(m), progress() {}, token() {}, metric() {} };
    const ds = await loadTextDataset('.', { cwd: dir, emit });
    expect(ds.splits).toEqual({ train: ['T'] });
    expect(logs.join('\n')).toMatch(/notes\.txt/);
  });

  it('resolves builtin:tiny_shakespeare to its 90/5/5 % splits', async () => {
    const ds = await loadTextDataset('builtin:tiny_shakespeare', { cwd: dir });
    const [train, validation, test] = [ds.splits.train, ds.splits.validation!, ds.splits.test!].map((s) => s.join(''));
    expect([ds.splits.train.length, ds.splits.validation!.length, ds.splits.test!.length]).toEqual([1, 1, 1]);
    const total = train.length + validation.length + test.length;
    expect(total).toBe(1115394);
    expect(train.length / total).toBeCloseTo(0.9, 3);
    expect(validation.length / total).toBeCloseTo(0.05, 3);
    expect(train.startsWith('First Citizen:\n')).toBe(true);
    // Cuts fall just after a newline, so each split starts a line.
    expect(train.endsWith('\n') && validation.endsWith('\n')).toBe(true);
  });
});

describe('loadTextDataset: bad input', () => {
  async function failure(spec: string, textColumn?: string): Promise<string> {
    const err = await load(spec, textColumn).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  }

  it('names a missing column and lists the columns', async () => {
    put('d.jsonl', '{"prompt":"a","answer":"b","id":3}\n');
    expect(await failure('d.jsonl', 'body')).toMatch('d.jsonl has no column "body"; its columns: "prompt", "answer", "id"');
    expect(await failure('d.jsonl', 'id')).toMatch(/d.jsonl: column "id" does not hold text only/);
    expect(await failure('d.jsonl')).toMatch(/no "text" column and 2 text columns \("prompt", "answer"\): pick one with --text_column/);
    put('n.csv', 'a,b\n1,2\n');
    expect(await failure('n.csv')).toMatch(/n.csv has no text column; its columns: "a", "b"/);
    put('p.parquet', writeParquet([{ name: 'body', type: 'string', values: ['x'] }], 1));
    expect(await failure('p.parquet', 'text')).toMatch(/p.parquet has no column "text"; its columns: "body"/);
  });

  it('rejects an empty dataset, naming the file', async () => {
    put('empty.txt', '');
    put('blank.jsonl', '\n\n');
    put('ws.txt', '  \n\n');
    expect(await failure('empty.txt')).toMatch(/empty.txt holds no text: the dataset is empty$/);
    expect(await failure('blank.jsonl')).toMatch(/blank.jsonl holds no text/);
    expect(await failure('ws.txt')).toMatch(/ws.txt holds no text/);
    fs.mkdirSync(path.join(dir, 'nothing'));
    expect(await failure('nothing')).toMatch(/nothing holds no dataset files/);
  });

  it('rejects binary files: NUL bytes or invalid UTF-8', async () => {
    put('nul.txt', Buffer.from([0x68, 0x69, 0x00, 0x01]));
    put('latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    put('bin.csv', Buffer.from([0x74, 0x0a, 0xff, 0xfe]));
    expect(await failure('nul.txt')).toMatch(/nul.txt is not a UTF-8 text file/);
    expect(await failure('latin1.txt')).toMatch(/latin1.txt is not a UTF-8 text file/);
    expect(await failure('bin.csv')).toMatch(/bin.csv is not a UTF-8 text file/);
  });

  it('rejects malformed JSON, JSON lines, CSV and parquet with the file and line', async () => {
    put('bad.jsonl', '{"text":"a"}\n{"text":\n');
    put('bad.json', '{"rows": [1, 2]}');
    put('bad.csv', 'text\n"never closed\n');
    put('bad.parquet', 'PAR1 this is not parquet');
    put('num.jsonl', '{"text":"a"}\n{"text":5}\n');
    expect(await failure('bad.jsonl')).toMatch(/bad.jsonl line 2: not valid JSON/);
    expect(await failure('bad.json')).toMatch(/bad.json: expected an array of objects/);
    expect(await failure('bad.csv')).toMatch(/bad.csv line 2: a quoted field is never closed/);
    expect(await failure('bad.parquet')).toMatch(/bad.parquet is not a readable parquet file/);
    expect(await failure('num.jsonl')).toMatch(/num.jsonl: column "text" does not hold text only; its columns: "text"/);
  });

  it('stops when aborted', async () => {
    put('a.txt', 'text');
    const ac = new AbortController();
    ac.abort();
    await expect(loadTextDataset('a.txt', { cwd: dir, signal: ac.signal })).rejects.toThrow(/abort/i);
  });

  it('rejects a missing path, an unknown builtin and a directory without a train split', async () => {
    expect(await failure('nope.txt')).toMatch(/no such file or directory: nope.txt/);
    expect(await failure('builtin:nope')).toMatch(/no builtin dataset "nope"; available: builtin:tiny_shakespeare/);
    put('only/validation.txt', 'V');
    expect(await failure('only')).toMatch(/only has no train split \(found validation\)/);
  });
});
