import { describe, expect, it } from 'vitest';
import { CsvSyntaxError, parseCsv, parseCsvRecords } from '../../src/data/csv.js';

describe('parseCsv (RFC 4180)', () => {
  it('splits plain fields and records, CRLF or LF', () => {
    expect(parseCsv('a,b\r\n1,2\n3,4\n')).toEqual({ header: ['a', 'b'], rows: [['1', '2'], ['3', '4']] });
  });

  it('keeps delimiters, newlines and doubled quotes inside quoted fields', () => {
    const t = parseCsv('id,text\n1,"Hello, world"\n2,"two\nlines"\n3,"say ""hi"""\n4,""\n');
    expect(t.rows).toEqual([['1', 'Hello, world'], ['2', 'two\nlines'], ['3', 'say "hi"'], ['4', '']]);
  });

  it('treats a quote inside an unquoted field as a character, and quotes after a delimiter as quoting', () => {
    expect(parseCsv('a,b\nsix" tall,"x,y"\n').rows).toEqual([['six" tall', 'x,y']]);
  });

  it('skips blank lines, keeps empty fields, pads short records with null', () => {
    expect(parseCsv('a,b,c\n\n1,,3\n4\n\n').rows).toEqual([['1', '', '3'], ['4', null, null]]);
  });

  it('reads a last record without a trailing newline and a tab delimiter', () => {
    expect(parseCsv('a\tb\nx y\t"z\tw"', '\t').rows).toEqual([['x y', 'z\tw']]);
  });

  it('reports the line of an unclosed quote and of stray text after a closing quote', () => {
    expect(() => parseCsv('a,b\n1,"open\nstill open')).toThrow(new CsvSyntaxError('a quoted field is never closed', 2));
    expect(() => parseCsv('a\n"x"y\n')).toThrow(/line 2: unexpected "y" after a closing quote/);
  });

  it('rejects a record with more fields than the header, naming the line', () => {
    expect(() => parseCsv('a,b\n1,2\n"multi\nline",2,3\n')).toThrow(/line 3: 3 fields but the header has 2/);
  });

  it('numbers records by the line they start on', () => {
    expect(parseCsvRecords('"a\nb",c\nd\n').map((r) => r.line)).toEqual([1, 3]);
  });
});
