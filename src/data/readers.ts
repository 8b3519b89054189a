/**
 * Readers for the dataset file formats, by extension: `.txt` (the whole file is one document —
 * for language-model packing a book or a play is one text, not one row per line as the
 * `datasets` "text" loader has it), `.jsonl`, `.json` (an array of objects or `{data: [...]}`),
 * `.csv`/`.tsv` (RFC 4180) and `.parquet`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/tool.js';
import { CsvSyntaxError, parseCsv } from './csv.js';
import { columnsOfRecords, recordsFile, shortPath, type DataFile } from './table.js';

/** Extensions a dataset directory is searched for. */
export const DATA_EXTENSIONS = ['.txt', '.jsonl', '.json', '.csv', '.tsv', '.parquet'] as const;

export function isDataFile(file: string): boolean {
  return (DATA_EXTENSIONS as readonly string[]).includes(path.extname(file).toLowerCase());
}

/** Open one data file; throws a UserError for unknown formats and unreadable content. */
export async function openDataFile(file: string): Promise<DataFile> {
  const ext = path.extname(file).toLowerCase();
  switch (ext) {
    case '.txt': {
      const text = readText(file);
      return { file, columns: [{ name: 'text', isString: true }], readColumn: async () => (text ? [text] : []) };
    }
    case '.jsonl':
      return recordsFile(file, parseJsonLines(file, readText(file)));
    case '.json':
      return recordsFile(file, parseJson(file, readText(file)));
    case '.csv':
    case '.tsv':
      return csvFile(file, ext === '.tsv' ? '\t' : ',');
    case '.parquet': {
      const { openParquet } = await import('./parquet.js');
      return openParquet(file);
    }
    default:
      throw new UserError(`${shortPath(file)}: unsupported dataset format "${ext || 'no extension'}"; use ${DATA_EXTENSIONS.join(', ')}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A text file's contents; a NUL byte or invalid UTF-8 means it is not text. */
export function readText(file: string): string {
  const bytes = fs.readFileSync(file);
  const binary = () => new UserError(`${shortPath(file)} is not a UTF-8 text file (binary content); pass a text, JSON lines, CSV or parquet dataset`);
  if (bytes.includes(0)) throw binary();
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw binary();
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJsonLines(file: string, text: string): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new UserError(`${shortPath(file)} line ${i + 1}: not valid JSON (${(err as Error).message})`);
    }
    if (!isRecord(value)) throw new UserError(`${shortPath(file)} line ${i + 1}: expected a JSON object per line`);
    rows.push(value);
  });
  return rows;
}

function parseJson(file: string, text: string): Record<string, unknown>[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // `datasets` reads JSON lines saved as .json too; so do we, when every line parses.
    if (text.trim().includes('\n')) {
      try {
        return parseJsonLines(file, text);
      } catch {
        // Fall through to the original error, which names the real problem.
      }
    }
    throw new UserError(`${shortPath(file)}: not valid JSON (${(err as Error).message})`);
  }
  const rows = isRecord(value) && Array.isArray(value.data) ? value.data : value;
  if (!Array.isArray(rows) || !rows.every(isRecord)) {
    throw new UserError(`${shortPath(file)}: expected an array of objects or {"data": [objects]}`);
  }
  return rows;
}

function csvFile(file: string, delimiter: string): DataFile {
  let table;
  try {
    table = parseCsv(readText(file), delimiter);
  } catch (err) {
    if (err instanceof CsvSyntaxError) throw new UserError(`${shortPath(file)} ${err.message}`);
    throw err;
  }
  const { header, rows } = table;
  const records = rows.map((row) => Object.fromEntries(header.map((h, i) => [h, row[i]])));
  // CSV has no types: a column whose every value reads as a number is numbers, not text (pandas' rule).
  const numeric = (name: string, i: number) => rows.length > 0 && rows.every((r) => r[i] === null || r[i] === '' || isNumber(r[i] as string));
  const columns = header.map((name, i) => ({ name, isString: !numeric(name, i) }));
  return recordsFile(file, records, columns.length ? columns : columnsOfRecords(records));
}

function isNumber(s: string): boolean {
  return s.trim() !== '' && Number.isFinite(Number(s));
}
