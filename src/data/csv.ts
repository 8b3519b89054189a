/**
 * A small RFC 4180 parser (https://www.rfc-editor.org/rfc/rfc4180): fields split by a
 * delimiter, records by CRLF or LF, a field in double quotes may hold delimiters, newlines and
 * doubled quotes (`""` → `"`). Written here rather than taken as a dependency because the
 * format fits in one screen and we want errors that name the line.
 */

/** A parsed CSV file: the header row and the records below it, as written (no type guessing). */
export interface CsvTable {
  header: string[];
  /** Each record has exactly header.length fields; short records are padded with null. */
  rows: (string | null)[][];
}

/** A syntax problem, with the 1-based line it was found on. */
export class CsvSyntaxError extends Error {
  constructor(message: string, readonly line: number) {
    super(`line ${line}: ${message}`);
  }
}

/** Split `text` into records of fields. Blank lines are skipped, as pandas and `datasets` do. */
export function parseCsvRecords(text: string, delimiter = ','): { fields: string[]; line: number }[] {
  const records: { fields: string[]; line: number }[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let i = 0;
  const n = text.length;
  // A record is blank when it ended without a delimiter and without any characters.
  let touched = false;
  // Only a quote that opens a field starts a quoted field; elsewhere it is a literal character.
  let fieldStart = true;

  const endRecord = () => {
    fields.push(field);
    if (touched || fields.length > 1) records.push({ fields, line: recordLine });
    fields = [];
    field = '';
    touched = false;
  };

  while (i < n) {
    const c = text[i];
    if (c === '"' && fieldStart) {
      // Quoted field: runs to the next lone quote.
      const openLine = line;
      i++;
      for (;;) {
        const close = text.indexOf('"', i);
        if (close < 0) throw new CsvSyntaxError('a quoted field is never closed', openLine);
        const run = text.slice(i, close);
        field += run;
        for (let k = run.indexOf('\n'); k >= 0; k = run.indexOf('\n', k + 1)) line++;
        if (text[close + 1] === '"') {
          field += '"';
          i = close + 2;
          continue;
        }
        i = close + 1;
        break;
      }
      touched = true;
      fieldStart = false;
      const next = text[i];
      if (i < n && next !== delimiter && next !== '\n' && next !== '\r') {
        throw new CsvSyntaxError(`unexpected ${JSON.stringify(next)} after a closing quote (a quote inside a quoted field is written "")`, line);
      }
      continue;
    }
    if (c === delimiter) {
      fields.push(field);
      field = '';
      touched = true;
      fieldStart = true;
      i++;
      continue;
    }
    if (c === '\r' && text[i + 1] === '\n') i++;
    if (c === '\n' || c === '\r') {
      endRecord();
      fieldStart = true;
      i++;
      line++;
      recordLine = line;
      continue;
    }
    // An unquoted run: up to the next delimiter or line break, taken as one slice.
    let end = i + 1;
    while (end < n) {
      const e = text[end];
      if (e === delimiter || e === '\n' || e === '\r') break;
      end++;
    }
    field += text.slice(i, end);
    touched = true;
    fieldStart = false;
    i = end;
  }
  if (touched || fields.length) endRecord();
  return records;
}

/** Parse a CSV file whose first record is the header. */
export function parseCsv(text: string, delimiter = ','): CsvTable {
  const records = parseCsvRecords(text, delimiter);
  if (!records.length) return { header: [], rows: [] };
  const header = records[0].fields;
  const rows = records.slice(1).map(({ fields, line }) => {
    if (fields.length > header.length) {
      throw new CsvSyntaxError(`${fields.length} fields but the header has ${header.length}`, line);
    }
    const row: (string | null)[] = fields;
    while (row.length < header.length) row.push(null);
    return row;
  });
  return { header, rows };
}
