/**
 * The GGUF container (version 3, little-endian), written and read back:
 *
 *   "GGUF" u32 version, u64 tensor_count, u64 kv_count
 *   kv_count × { string key, u32 type, value }          strings are u64 length + UTF-8
 *   tensor_count × { string name, u32 n_dims, u64 dims[n_dims] (fastest first), u32 ggml_type, u64 offset }
 *   padding to `general.alignment` (32), then the tensor data, each tensor at its offset
 *   (relative to the data start, a multiple of the alignment)
 */
import { writeAll, writeFileAtomic } from '../core/atomic-write.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const ALIGNMENT = 32;

/** ggml tensor types we write. */
export const GGML_TYPE = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8 } as const;
export type GgmlType = keyof typeof GGML_TYPE;

/** A typed metadata value (GGUF types its values; JS numbers do not say which). */
export type GgufValue =
  | { type: 'u32'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'u64'; value: bigint }
  | { type: 'string[]'; value: string[] }
  | { type: 'i32[]'; value: number[] }
  | { type: 'f32[]'; value: number[] };

const TYPE_CODE = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 } as const;

export interface GgufTensor {
  name: string;
  /** Row-major shape as the model has it ([out, in]); stored reversed (fastest first). */
  shape: number[];
  type: GgmlType;
  data: Uint8Array;
}

class Writer {
  private chunks: Buffer[] = [];
  size = 0;
  bytes(b: Uint8Array): void {
    const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    this.chunks.push(buf);
    this.size += buf.byteLength;
  }
  private fixed(n: number, put: (b: Buffer) => void): void {
    const b = Buffer.alloc(n);
    put(b);
    this.bytes(b);
  }
  u32(v: number): void { this.fixed(4, (b) => b.writeUInt32LE(v)); }
  i32(v: number): void { this.fixed(4, (b) => b.writeInt32LE(v)); }
  f32(v: number): void { this.fixed(4, (b) => b.writeFloatLE(v)); }
  u64(v: number | bigint): void { this.fixed(8, (b) => b.writeBigUInt64LE(BigInt(v))); }
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.byteLength);
    this.bytes(b);
  }
  pad(to: number): void {
    const n = (to - (this.size % to)) % to;
    if (n) this.bytes(Buffer.alloc(n));
  }
  take(): Buffer[] { return this.chunks; }
}

function writeValue(w: Writer, v: GgufValue): void {
  switch (v.type) {
    case 'u32': w.u32(TYPE_CODE.u32); w.u32(v.value); break;
    case 'i32': w.u32(TYPE_CODE.i32); w.i32(v.value); break;
    case 'f32': w.u32(TYPE_CODE.f32); w.f32(v.value); break;
    case 'bool': w.u32(TYPE_CODE.bool); w.bytes(Uint8Array.of(v.value ? 1 : 0)); break;
    case 'string': w.u32(TYPE_CODE.string); w.string(v.value); break;
    case 'u64': w.u32(TYPE_CODE.u64); w.u64(v.value); break;
    case 'string[]': w.u32(TYPE_CODE.array); w.u32(TYPE_CODE.string); w.u64(v.value.length); v.value.forEach((s) => w.string(s)); break;
    case 'i32[]': w.u32(TYPE_CODE.array); w.u32(TYPE_CODE.i32); w.u64(v.value.length); v.value.forEach((x) => w.i32(x)); break;
    case 'f32[]': w.u32(TYPE_CODE.array); w.u32(TYPE_CODE.f32); w.u64(v.value.length); v.value.forEach((x) => w.f32(x)); break;
  }
}

/** Writes a GGUF file (temp file + rename). `general.alignment` is added when absent. */
export function writeGguf(file: string, metadata: Map<string, GgufValue>, tensors: GgufTensor[]): void {
  const kv = new Map(metadata);
  if (!kv.has('general.alignment')) kv.set('general.alignment', { type: 'u32', value: ALIGNMENT });
  const w = new Writer();
  w.u32(GGUF_MAGIC);
  w.u32(GGUF_VERSION);
  w.u64(tensors.length);
  w.u64(kv.size);
  for (const [key, value] of kv) {
    w.string(key);
    writeValue(w, value);
  }
  let offset = 0;
  for (const t of tensors) {
    w.string(t.name);
    w.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) w.u64(d);
    w.u32(GGML_TYPE[t.type]);
    w.u64(offset);
    offset += Math.ceil(t.data.byteLength / ALIGNMENT) * ALIGNMENT;
  }
  w.pad(ALIGNMENT);
  for (const t of tensors) {
    w.bytes(t.data);
    w.pad(ALIGNMENT);
  }
  // Temp file, fsync, rename: a failed or killed export leaves the previous file, and the fd closes on every path.
  writeFileAtomic(file, (fd) => {
    for (const chunk of w.take()) writeAll(fd, chunk);
  });
}

/** A tensor as a GGUF header describes it. */
export interface GgufTensorInfo {
  name: string;
  /** Dims as stored: fastest first. */
  dims: number[];
  type: number;
  /** Offset from the data start. */
  offset: number;
}

export interface GgufFile {
  version: number;
  metadata: Map<string, unknown>;
  tensors: GgufTensorInfo[];
  /** Absolute offset of the data section. */
  dataStart: number;
}

/** Reads a GGUF header (metadata values as plain JS values; arrays as arrays). */
export function readGguf(buf: Buffer): GgufFile {
  let at = 0;
  const u32 = () => { const v = buf.readUInt32LE(at); at += 4; return v; };
  const u64 = () => { const v = Number(buf.readBigUInt64LE(at)); at += 8; return v; };
  const str = () => { const n = u64(); const s = buf.toString('utf8', at, at + n); at += n; return s; };
  const scalar = (type: number): unknown => {
    switch (type) {
      case TYPE_CODE.u8: return buf.readUInt8(at++);
      case TYPE_CODE.i8: return buf.readInt8(at++);
      case TYPE_CODE.u16: { const v = buf.readUInt16LE(at); at += 2; return v; }
      case TYPE_CODE.i16: { const v = buf.readInt16LE(at); at += 2; return v; }
      case TYPE_CODE.u32: return u32();
      case TYPE_CODE.i32: { const v = buf.readInt32LE(at); at += 4; return v; }
      case TYPE_CODE.f32: { const v = buf.readFloatLE(at); at += 4; return v; }
      case TYPE_CODE.bool: return buf.readUInt8(at++) !== 0;
      case TYPE_CODE.string: return str();
      case TYPE_CODE.u64: return u64();
      case TYPE_CODE.i64: { const v = Number(buf.readBigInt64LE(at)); at += 8; return v; }
      case TYPE_CODE.f64: { const v = buf.readDoubleLE(at); at += 8; return v; }
      case TYPE_CODE.array: {
        const of = u32();
        return Array.from({ length: u64() }, () => scalar(of));
      }
    }
    throw new Error(`unknown GGUF value type ${type} at byte ${at}`);
  };
  if (u32() !== GGUF_MAGIC) throw new Error('not a GGUF file (bad magic)');
  const version = u32();
  const tensorCount = u64();
  const kvCount = u64();
  const metadata = new Map<string, unknown>();
  for (let i = 0; i < kvCount; i++) {
    const key = str();
    metadata.set(key, scalar(u32()));
  }
  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = str();
    const dims = Array.from({ length: u32() }, () => u64());
    tensors.push({ name, dims, type: u32(), offset: u64() });
  }
  const alignment = (metadata.get('general.alignment') as number | undefined) ?? ALIGNMENT;
  return { version, metadata, tensors, dataStart: Math.ceil(at / alignment) * alignment };
}
