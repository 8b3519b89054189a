/**
 * Parquet dataset files through hyparquet: the footer is read first, then the text column one
 * row group at a time, so a large file never sits in memory whole — only its strings do.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, type FileMetaData, type SchemaElement } from 'hyparquet';
import { UserError } from '../core/tool.js';
import { shortPath, type ColumnInfo, type DataFile } from './table.js';

/** A UTF-8 string column: BYTE_ARRAY annotated STRING (logical) or UTF8 (converted), or JSON text. */
function isStringColumn(el: SchemaElement): boolean {
  if (el.type !== 'BYTE_ARRAY') return false;
  return el.converted_type === 'UTF8' || el.logical_type?.type === 'STRING' || el.logical_type?.type === 'JSON' || el.converted_type === 'JSON';
}

/** Top-level columns from the flattened schema (element 0 is the root; groups have children). */
function topLevelColumns(metadata: FileMetaData): ColumnInfo[] {
  const schema = metadata.schema;
  const columns: ColumnInfo[] = [];
  let i = 1;
  // Walk the depth-first list, skipping each nested group's subtree.
  const skip = (at: number): number => {
    const el = schema[at];
    let next = at + 1;
    for (let c = 0; c < (el.num_children ?? 0); c++) next = skip(next);
    return next;
  };
  while (i < schema.length) {
    const el = schema[i];
    columns.push({ name: el.name, isString: !el.num_children && el.repetition_type !== 'REPEATED' && isStringColumn(el) });
    i = skip(i);
  }
  return columns;
}

/** Open a parquet file: reads only its footer until a column is asked for. */
export async function openParquet(file: string): Promise<DataFile> {
  const where = shortPath(file);
  let metadata: FileMetaData;
  const buffer = await asyncBufferFromFile(file);
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (err) {
    throw new UserError(`${where} is not a readable parquet file (${(err as Error).message})`);
  }
  return {
    file,
    columns: topLevelColumns(metadata),
    async readColumn(name, signal) {
      const out: string[] = [];
      let rowStart = 0;
      for (const group of metadata.row_groups) {
        signal?.throwIfAborted();
        const rowEnd = rowStart + Number(group.num_rows);
        let rows: unknown[][] = [];
        try {
          await parquetRead({ file: buffer, metadata, columns: [name], rowStart, rowEnd, onComplete: (r) => (rows = r) });
        } catch (err) {
          throw new UserError(`${where}: cannot read column "${name}" (${(err as Error).message})`);
        }
        for (const [v] of rows) {
          if (typeof v === 'string') out.push(v);
        }
        rowStart = rowEnd;
      }
      return out;
    },
  };
}
