/**
 * safetensors read and write (https://huggingface.co/docs/safetensors/metadata_parsing):
 * 8-byte little-endian header length N, N bytes of JSON header
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {string: string} }`,
 * then the byte buffer the offsets index (relative to its start), densely and in order.
 *
 * Tensor bytes go straight from the file into typed arrays with fs.readSync (never through
 * strings); F16/BF16 are widened to float32 through a small scratch buffer.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeAll, writeFileAtomic } from '../core/atomic-write.js';
import { UserError } from '../core/tool.js';
import { numel, type Tensor, type Weights } from './tensor.js';
import { f16ToF32, f32ToF16, bf16ToF32 } from './float16.js';

/** The dtypes we know; floats are widened to float32, the rest are kept raw. */
export type Dtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const DTYPE_BYTES: Record<Dtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** Float dtypes that load as float32 `Tensor`s. */
const FLOAT_DTYPES: ReadonlySet<Dtype> = new Set(['F32', 'F16', 'BF16', 'F64']);

/** A tensor kept as its stored bytes (integer and quantized payloads). */
export interface RawTensor {
  dtype: Dtype;
  shape: number[];
  /** Exactly numel × dtype-size bytes, little-endian. */
  bytes: Buffer;
}

/** One entry of a parsed header. */
export interface TensorInfo {
  dtype: Dtype;
  shape: number[];
  /** Absolute byte offset in the file. */
  start: number;
  byteLength: number;
}

/** A validated safetensors header. */
export interface SafetensorsHeader {
  /** In file order (by offset). */
  tensors: Map<string, TensorInfo>;
  /** The `__metadata__` string map, when present. */
  metadata?: Record<string, string>;
}

/** What `readSafetensors` returns. */
export interface SafetensorsContents {
  /** Float tensors (F32/F16/BF16/F64) widened to float32. */
  weights: Weights;
  /** Integer/bool tensors as stored. */
  raw: Map<string, RawTensor>;
  metadata?: Record<string, string>;
}

export interface ReadOptions {
  signal?: AbortSignal;
  /** Called after each tensor with bytes read so far (of this file) and the file's data size. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /** Read only these tensors (e.g. one shard's part of a sharded checkpoint). */
  names?: Iterable<string>;
}

/** The spec caps the header at 100 MB; anything larger is a corrupt length field. */
const MAX_HEADER_BYTES = 100_000_000;
/** Scratch size for widening F16/BF16: large enough for throughput, small next to a model. */
const CHUNK_BYTES = 1 << 24;

if (os.endianness() !== 'LE') throw new Error('smolbox needs a little-endian host (safetensors is LE)');

/** Parse and validate the header of an open file. */
export function readSafetensorsHeader(fd: number, file: string): SafetensorsHeader {
  const fileSize = fs.fstatSync(fd).size;
  const bad = (why: string): never => {
    throw new UserError(`${file}: not a valid safetensors file (${why}); re-export or re-download it`);
  };
  if (fileSize < 8) bad(`only ${fileSize} bytes`);
  const lenBuf = Buffer.alloc(8);
  fs.readSync(fd, lenBuf, 0, 8, 0);
  const headerLen = Number(lenBuf.readBigUInt64LE(0));
  if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > fileSize) {
    bad(`header length ${headerLen} exceeds the file's ${fileSize} bytes`);
  }
  const headerBuf = Buffer.alloc(headerLen);
  fs.readSync(fd, headerBuf, 0, headerLen, 8);
  let json: unknown;
  try {
    json = JSON.parse(headerBuf.toString('utf8'));
  } catch {
    bad('header is not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) bad('header is not a JSON object');

  const dataStart = 8 + headerLen;
  const dataSize = fileSize - dataStart;
  let metadata: Record<string, string> | undefined;
  const entries: [string, TensorInfo, number, number][] = [];
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = value as Record<string, string>;
      continue;
    }
    const e = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const where = `${file}: tensor ${name}`;
    if (typeof e !== 'object' || e === null) throw new UserError(`${where} has no header entry object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) {
      throw new UserError(`${where} has unsupported dtype ${JSON.stringify(e.dtype)} (known: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    }
    const dtype = e.dtype as Dtype;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new UserError(`${where} has an invalid shape ${JSON.stringify(e.shape)}`);
    }
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0) || offs[1] < offs[0]) {
      throw new UserError(`${where} has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const shape = e.shape as number[];
    const [begin, end] = offs as [number, number];
    const expected = numel(shape) * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      throw new UserError(
        `${where} is mislabelled: ${end - begin} bytes stored, ${dtype}[${shape}] needs ${expected}; re-export the file`,
      );
    }
    if (end > dataSize) {
      throw new UserError(`${where} ends at byte ${end} but the file has ${dataSize} data bytes: the file is truncated, re-download it`);
    }
    entries.push([name, { dtype, shape, start: dataStart + begin, byteLength: expected }, begin, end]);
  }
  // The spec requires the buffer to be covered densely: no holes, no overlaps.
  entries.sort((a, b) => a[2] - b[2] || a[3] - b[3]);
  let cursor = 0;
  for (const [name, , begin, end] of entries) {
    if (begin !== cursor) {
      throw new UserError(`${file}: tensor ${name} starts at byte ${begin}, expected ${cursor} (overlapping or gapped offsets); re-export the file`);
    }
    cursor = end;
  }
  if (cursor !== dataSize) {
    throw new UserError(`${file}: ${dataSize - cursor} trailing bytes after the last tensor; the file is corrupt, re-export it`);
  }
  return { tensors: new Map(entries.map(([n, info]) => [n, info])), metadata };
}

/** Read into `target` fully (readSync may return short counts; it caps at 2 GB per call). */
function readFully(fd: number, target: Uint8Array, position: number): void {
  let done = 0;
  while (done < target.byteLength) {
    const want = Math.min(target.byteLength - done, 1 << 30);
    const got = fs.readSync(fd, target, done, want, position + done);
    if (got === 0) throw new Error('unexpected end of file');
    done += got;
  }
}

function readFloat(fd: number, info: TensorInfo, scratch: () => Buffer): Float32Array {
  const n = numel(info.shape);
  const out = new Float32Array(n);
  if (info.dtype === 'F32') {
    readFully(fd, new Uint8Array(out.buffer), info.start);
    return out;
  }
  const elemBytes = DTYPE_BYTES[info.dtype];
  const buf = scratch();
  const perChunk = Math.floor(buf.byteLength / elemBytes);
  for (let i = 0; i < n; i += perChunk) {
    const count = Math.min(perChunk, n - i);
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, count * elemBytes);
    readFully(fd, bytes, info.start + i * elemBytes);
    const dst = out.subarray(i, i + count);
    if (info.dtype === 'F64') {
      const src = new Float64Array(buf.buffer, buf.byteOffset, count);
      dst.set(src);
    } else {
      const src = new Uint16Array(buf.buffer, buf.byteOffset, count);
      if (info.dtype === 'F16') f16ToF32(src, dst);
      else bf16ToF32(src, dst);
    }
  }
  return out;
}

/** Read a safetensors file: float tensors as float32 `Weights`, the rest raw. */
export function readSafetensors(file: string, opts: ReadOptions = {}): SafetensorsContents {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new UserError(`cannot open ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const header = readSafetensorsHeader(fd, file);
    const wanted = opts.names ? new Set(opts.names) : undefined;
    const weights: Weights = new Map();
    const raw = new Map<string, RawTensor>();
    let scratchBuf: Buffer | undefined;
    const scratch = () => (scratchBuf ??= Buffer.allocUnsafe(CHUNK_BYTES));
    let total = 0;
    for (const [name, info] of header.tensors) if (!wanted || wanted.has(name)) total += info.byteLength;
    let done = 0;
    for (const [name, info] of header.tensors) {
      if (wanted && !wanted.has(name)) continue;
      opts.signal?.throwIfAborted();
      if (FLOAT_DTYPES.has(info.dtype)) {
        weights.set(name, { shape: info.shape, data: readFloat(fd, info, scratch) });
      } else {
        const bytes = Buffer.allocUnsafe(info.byteLength);
        readFully(fd, bytes, info.start);
        raw.set(name, { dtype: info.dtype, shape: info.shape, bytes });
      }
      done += info.byteLength;
      opts.onProgress?.(done, total);
    }
    if (wanted) {
      for (const name of wanted) {
        if (!header.tensors.has(name)) throw new UserError(`${file}: tensor ${name} is missing (the shard index names it); re-download the checkpoint`);
      }
    }
    return { weights, raw, metadata: header.metadata };
  } finally {
    fs.closeSync(fd);
  }
}

export interface WriteOptions {
  /** Storage dtype for float tensors (default F32). */
  dtype?: 'F32' | 'F16';
  /** Extra `__metadata__` entries; `format: "pt"` is always set so transformers accepts the file. */
  metadata?: Record<string, string>;
}

function isRaw(t: Tensor | RawTensor): t is RawTensor {
  return (t as RawTensor).bytes !== undefined;
}

/**
 * Write tensors to `file` atomically (writeFileAtomic: temp file, fsync, rename). Tensors are stored in name order,
 * so the same weights always give the same bytes; the header is space-padded to a multiple of
 * 8 so the data (and every F32 tensor) starts aligned, as the reference writer does.
 */
export function writeSafetensors(
  file: string,
  tensors: Map<string, Tensor | RawTensor>,
  opts: WriteOptions = {},
): void {
  const floatDtype = opts.dtype ?? 'F32';
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', ...opts.metadata } };
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const dtype: Dtype = isRaw(t) ? t.dtype : floatDtype;
    const n = numel(t.shape);
    if (!isRaw(t) && t.data.length !== n) {
      throw new Error(`tensor ${name}: ${t.data.length} elements for shape [${t.shape}]`);
    }
    const len = n * DTYPE_BYTES[dtype];
    if (isRaw(t) && t.bytes.byteLength !== len) {
      throw new Error(`tensor ${name}: ${t.bytes.byteLength} bytes for ${dtype}[${t.shape}]`);
    }
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + len] };
    offset += len;
  }
  let json = JSON.stringify(header);
  const pad = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += ' '.repeat(pad);
  const headerBytes = Buffer.from(json, 'utf8');
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(headerBytes.byteLength));

  writeFileAtomic(file, (fd) => {
    writeAll(fd, lenBuf);
    writeAll(fd, headerBytes);
    let scratch: Uint16Array | undefined;
    for (const name of names) {
      const t = tensors.get(name)!;
      if (isRaw(t)) writeAll(fd, t.bytes);
      else if (floatDtype === 'F32') writeAll(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      else {
        scratch ??= new Uint16Array(CHUNK_BYTES / 2);
        for (let i = 0; i < t.data.length; i += scratch.length) {
          const src = t.data.subarray(i, Math.min(i + scratch.length, t.data.length));
          const dst = scratch.subarray(0, src.length);
          f32ToF16(src, dst);
          writeAll(fd, new Uint8Array(dst.buffer, 0, dst.byteLength));
        }
      }
    }
  });
}

/** A sharded checkpoint's index: which file holds each tensor. */
export interface ShardIndex {
  weightMap: Map<string, string>;
  metadata?: Record<string, unknown>;
}

/** Parse `model.safetensors.index.json`. */
export function readShardIndex(indexFile: string): ShardIndex {
  let json: { weight_map?: Record<string, string>; metadata?: Record<string, unknown> };
  try {
    json = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
  } catch (e) {
    throw new UserError(`${indexFile}: cannot read the shard index (${(e as Error).message}); re-download it`);
  }
  if (!json || typeof json.weight_map !== 'object' || json.weight_map === null) {
    throw new UserError(`${indexFile}: no weight_map in the shard index; re-download it`);
  }
  for (const [name, shard] of Object.entries(json.weight_map)) {
    if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\') || shard.startsWith('.')) {
      throw new UserError(`${indexFile}: tensor ${name} maps to an invalid file ${JSON.stringify(shard)}`);
    }
  }
  return { weightMap: new Map(Object.entries(json.weight_map)), metadata: json.metadata };
}

/** Read a sharded checkpoint: every shard the index names, merged in index order. */
export function readShardedSafetensors(indexFile: string, opts: ReadOptions = {}): SafetensorsContents {
  const { weightMap } = readShardIndex(indexFile);
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of weightMap) {
    if (!byShard.has(shard)) byShard.set(shard, []);
    byShard.get(shard)!.push(name);
  }
  const dir = path.dirname(indexFile);
  const out: SafetensorsContents = { weights: new Map(), raw: new Map() };
  // Progress across shards: count bytes by file size, reported after each tensor.
  const sizes = [...byShard.keys()].map((s) => fileSize(path.join(dir, s)));
  const total = sizes.reduce((a, b) => a + b, 0);
  let before = 0;
  [...byShard.entries()].forEach(([shard, names], i) => {
    const part = readSafetensors(path.join(dir, shard), {
      signal: opts.signal,
      names,
      onProgress: (done) => opts.onProgress?.(before + done, total),
    });
    for (const [k, v] of part.weights) out.weights.set(k, v);
    for (const [k, v] of part.raw) out.raw.set(k, v);
    out.metadata ??= part.metadata;
    before += sizes[i];
  });
  opts.onProgress?.(total, total);
  return out;
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    throw new UserError(`${file} is missing (named by the shard index); re-download the checkpoint`);
  }
}
