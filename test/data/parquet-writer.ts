/**
 * A minimal parquet writer for test fixtures (hyparquet only reads): flat OPTIONAL columns of
 * UTF-8 strings or int32, PLAIN encoded, uncompressed, one v1 data page per column chunk,
 * several row groups. Follows https://github.com/apache/parquet-format (parquet.thrift) with
 * Thrift's compact protocol for the footer and page headers.
 */

export type ParquetColumn =
  | { name: string; type: 'string'; values: (string | null)[] }
  | { name: string; type: 'int32'; values: (number | null)[] };

/** Thrift compact protocol, just the parts the footer needs. */
class Compact {
  bytes: number[] = [];
  private lastField: number[] = [0];

  varint(n: bigint | number): void {
    let v = BigInt(n);
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }
  zigzag(n: number | bigint): void {
    const v = BigInt(n);
    this.varint(v >= 0n ? v << 1n : ((-v) << 1n) - 1n);
  }
  field(id: number, type: number): void {
    const last = this.lastField[this.lastField.length - 1];
    const delta = id - last;
    if (delta > 0 && delta <= 15) this.bytes.push((delta << 4) | type);
    else {
      this.bytes.push(type);
      this.zigzag(id);
    }
    this.lastField[this.lastField.length - 1] = id;
  }
  i32(id: number, v: number): void {
    this.field(id, 5);
    this.zigzag(v);
  }
  i64(id: number, v: number | bigint): void {
    this.field(id, 6);
    this.zigzag(v);
  }
  binary(id: number | null, s: string): void {
    if (id !== null) this.field(id, 8);
    const b = Buffer.from(s, 'utf8');
    this.varint(b.length);
    this.bytes.push(...b);
  }
  list(id: number, elemType: number, items: unknown[], write: (item: never) => void): void {
    this.field(id, 9);
    if (items.length < 15) this.bytes.push((items.length << 4) | elemType);
    else {
      this.bytes.push(0xf0 | elemType);
      this.varint(items.length);
    }
    for (const item of items) write(item as never);
  }
  struct(id: number | null, write: () => void): void {
    if (id !== null) this.field(id, 12);
    this.lastField.push(0);
    write();
    this.bytes.push(0);
    this.lastField.pop();
  }
}

/** RLE runs of definition levels (bit width 1), prefixed with their byte length. */
function definitionLevels(present: boolean[]): Buffer {
  const runs = new Compact();
  for (let i = 0; i < present.length; ) {
    let j = i;
    while (j < present.length && present[j] === present[i]) j++;
    runs.varint((j - i) << 1);
    runs.bytes.push(present[i] ? 1 : 0);
    i = j;
  }
  const body = Buffer.from(runs.bytes);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length);
  return Buffer.concat([len, body]);
}

function plainValues(col: ParquetColumn, from: number, to: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = from; i < to; i++) {
    const v = col.values[i];
    if (v === null) continue;
    if (col.type === 'string') {
      const b = Buffer.from(v as string, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.length);
      parts.push(len, b);
    } else {
      const b = Buffer.alloc(4);
      b.writeInt32LE(v as number);
      parts.push(b);
    }
  }
  return Buffer.concat(parts);
}

/** Serialise columns (all the same length) into a parquet file with `rowGroupSize` rows per group. */
export function writeParquet(columns: ParquetColumn[], rowGroupSize: number): Buffer {
  const numRows = columns[0].values.length;
  const chunks: Buffer[] = [Buffer.from('PAR1')];
  let offset = 4;
  const rowGroups: { columns: { offset: number; size: number; col: ParquetColumn; count: number }[]; rows: number; bytes: number }[] = [];
  for (let start = 0; start < numRows; start += rowGroupSize) {
    const end = Math.min(numRows, start + rowGroupSize);
    const group = { columns: [] as { offset: number; size: number; col: ParquetColumn; count: number }[], rows: end - start, bytes: 0 };
    for (const col of columns) {
      const present = col.values.slice(start, end).map((v) => v !== null);
      const page = Buffer.concat([definitionLevels(present), plainValues(col, start, end)]);
      const header = new Compact();
      header.struct(null, () => {
        header.i32(1, 0); // DATA_PAGE
        header.i32(2, page.length);
        header.i32(3, page.length);
        header.struct(5, () => {
          header.i32(1, end - start);
          header.i32(2, 0); // PLAIN
          header.i32(3, 3); // RLE definition levels
          header.i32(4, 3); // RLE repetition levels
        });
      });
      const chunk = Buffer.concat([Buffer.from(header.bytes), page]);
      group.columns.push({ offset, size: chunk.length, col, count: end - start });
      group.bytes += chunk.length;
      chunks.push(chunk);
      offset += chunk.length;
    }
    rowGroups.push(group);
  }

  const meta = new Compact();
  meta.struct(null, () => {
    meta.i32(1, 1);
    const schema = [{ root: true }, ...columns.map((c) => ({ root: false, c }))];
    meta.list(2, 12, schema, (el: { root: boolean; c?: ParquetColumn }) =>
      meta.struct(null, () => {
        if (el.root) {
          meta.binary(4, 'schema');
          meta.i32(5, columns.length);
        } else {
          meta.i32(1, el.c!.type === 'string' ? 6 : 1); // BYTE_ARRAY or INT32
          meta.i32(3, 1); // OPTIONAL
          meta.binary(4, el.c!.name);
          if (el.c!.type === 'string') meta.i32(6, 0); // converted type UTF8
        }
      }),
    );
    meta.i64(3, numRows);
    meta.list(4, 12, rowGroups, (g: (typeof rowGroups)[number]) =>
      meta.struct(null, () => {
        meta.list(1, 12, g.columns, (c: (typeof g.columns)[number]) =>
          meta.struct(null, () => {
            meta.i64(2, c.offset);
            meta.struct(3, () => {
              meta.i32(1, c.col.type === 'string' ? 6 : 1);
              meta.list(2, 5, [0, 3], (e: number) => meta.zigzag(e));
              meta.list(3, 8, [c.col.name], (s: string) => meta.binary(null, s));
              meta.i32(4, 0); // UNCOMPRESSED
              meta.i64(5, c.count);
              meta.i64(6, c.size);
              meta.i64(7, c.size);
              meta.i64(9, c.offset);
            });
          }),
        );
        meta.i64(2, g.bytes);
        meta.i64(3, g.rows);
      }),
    );
  });
  const footer = Buffer.from(meta.bytes);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(footer.length);
  chunks.push(footer, len, Buffer.from('PAR1'));
  return Buffer.concat(chunks);
}
