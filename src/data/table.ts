/**
 * The shape every dataset file reader returns — a file with named columns, one of which holds
 * the documents — and the rule that picks that column: `--text_column`, else `text`, else the
 * only string column (the rule of Hugging Face's examples/run_clm.py).
 */
import path from 'node:path';
import { UserError } from '../core/tool.js';

/** One column of a data file. */
export interface ColumnInfo {
  name: string;
  /** True when every present value is a string (Parquet: a UTF-8 byte array). */
  isString: boolean;
}

/** A data file opened by one of the readers. */
export interface DataFile {
  /** Absolute path, for error messages and cache keys. */
  file: string;
  columns: ColumnInfo[];
  /** The column's values in file order; missing values (null) are left out. */
  readColumn(name: string, signal?: AbortSignal): Promise<string[]>;
}

/** Pick the text column of `data`: the requested one, else `text`, else the only string column. */
export function chooseTextColumn(data: DataFile, requested?: string | null): string {
  const names = data.columns.map((c) => c.name);
  const listed = names.length ? names.map((n) => JSON.stringify(n)).join(', ') : 'none';
  const where = shortPath(data.file);
  // A file without rows has no columns; its (empty) documents are read as `text`.
  if (!data.columns.length) return requested ?? 'text';
  const notText = (name: string) => new UserError(`${where}: column "${name}" does not hold text only; its columns: ${listed}`);
  if (requested) {
    const col = data.columns.find((c) => c.name === requested);
    if (!col) throw new UserError(`${where} has no column "${requested}"; its columns: ${listed}`);
    if (!col.isString) throw notText(requested);
    return requested;
  }
  const text = data.columns.find((c) => c.name === 'text');
  if (text) {
    if (!text.isString) throw notText('text');
    return 'text';
  }
  const strings = data.columns.filter((c) => c.isString);
  if (strings.length === 1) return strings[0].name;
  if (!strings.length) throw new UserError(`${where} has no text column; its columns: ${listed}`);
  throw new UserError(
    `${where} has no "text" column and ${strings.length} text columns (${strings.map((c) => JSON.stringify(c.name)).join(', ')}): pick one with --text_column`,
  );
}

/** Columns of row objects (JSON, JSON lines, CSV), in first-seen order. */
export function columnsOfRecords(rows: readonly Record<string, unknown>[]): ColumnInfo[] {
  const seen = new Map<string, { string: boolean; other: boolean }>();
  for (const row of rows) {
    for (const [key, value] of Object.entries(row)) {
      let kind = seen.get(key);
      if (!kind) seen.set(key, (kind = { string: false, other: false }));
      if (typeof value === 'string') kind.string = true;
      else if (value !== null && value !== undefined) kind.other = true;
    }
  }
  return [...seen].map(([name, k]) => ({ name, isString: k.string && !k.other }));
}

/** A DataFile over row objects already in memory. */
export function recordsFile(file: string, rows: readonly Record<string, unknown>[], columns = columnsOfRecords(rows)): DataFile {
  return {
    file,
    columns,
    async readColumn(name) {
      const out: string[] = [];
      rows.forEach((row, i) => {
        const v = row[name];
        if (v === null || v === undefined) return;
        if (typeof v !== 'string') {
          throw new UserError(`${shortPath(file)}: row ${i + 1} of column "${name}" holds ${typeof v === 'object' ? 'an object' : 'a ' + typeof v}, not text`);
        }
        out.push(v);
      });
      return out;
    },
  };
}

/** A path as the user would recognise it: relative to the working directory when inside it. */
export function shortPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}
