/**
 * A torch.load-able state dict, written without PyTorch: the zip archive torch.save makes
 * (`archive/data.pkl`, `archive/data/<key>` raw little-endian storages, `archive/byteorder`,
 * `archive/version`), with data.pkl a protocol-2 pickle of
 *
 *   OrderedDict([(name, torch._utils._rebuild_tensor_v2(
 *       persistent_id(('storage', torch.FloatStorage, key, 'cpu', numel)),
 *       0, size, stride, False, OrderedDict())), …])
 *
 * A tied LM head is saved as torch.save saves it: lm_head.weight shares the embedding's storage.
 */
import type { Tensor } from '../models/tensor.js';
import { writeZip, type ZipEntry } from './zip.js';

/** Pickle opcodes used here (protocol 2). */
const OP = {
  PROTO: 0x80, GLOBAL: 0x63, EMPTY_TUPLE: 0x29, REDUCE: 0x52, MARK: 0x28, SETITEMS: 0x75, TUPLE: 0x74,
  BINPERSID: 0x51, BININT: 0x4a, LONG1: 0x8a, BINUNICODE: 0x58, NEWFALSE: 0x89, STOP: 0x2e,
} as const;

class Pickler {
  private parts: number[] = [];
  op(code: number): this {
    this.parts.push(code);
    return this;
  }
  global(module: string, name: string): this {
    this.op(OP.GLOBAL);
    for (const b of Buffer.from(`${module}\n${name}\n`, 'utf8')) this.parts.push(b);
    return this;
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.op(OP.BINUNICODE);
    this.u32(b.byteLength);
    for (const x of b) this.parts.push(x);
    return this;
  }
  int(n: number): this {
    if (n >= -(2 ** 31) && n < 2 ** 31) {
      this.op(OP.BININT);
      this.u32(n >>> 0);
      return this;
    }
    // LONG1: little-endian two's complement, 8 bytes is plenty for any tensor size.
    this.op(OP.LONG1).op(8);
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(n));
    for (const x of b) this.parts.push(x);
    return this;
  }
  tuple(items: number[]): this {
    this.op(OP.MARK);
    for (const n of items) this.int(n);
    return this.op(OP.TUPLE);
  }
  emptyOrderedDict(): this {
    return this.global('collections', 'OrderedDict').op(OP.EMPTY_TUPLE).op(OP.REDUCE);
  }
  private u32(v: number): void {
    this.parts.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** Contiguous row-major strides for `shape`. */
function strides(shape: number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i];
  }
  return out;
}

/**
 * Writes `tensors` (in order) to `file`. `aliases` maps a name to the name whose storage it
 * shares (tied weights).
 */
export function writeStateDict(file: string, tensors: Map<string, Tensor>, aliases: Map<string, string> = new Map(), archive = 'archive'): void {
  const p = new Pickler();
  p.op(OP.PROTO).op(2);
  p.emptyOrderedDict().op(OP.MARK);
  const keys = new Map<string, string>();
  const entries: ZipEntry[] = [];
  const storages: ZipEntry[] = [];
  const all = [...tensors.keys(), ...[...aliases.keys()].filter((k) => !tensors.has(k))];
  for (const name of all) {
    const source = aliases.get(name) ?? name;
    const t = tensors.get(source)!;
    let key = keys.get(source);
    if (key === undefined) {
      key = String(keys.size);
      keys.set(source, key);
      storages.push({ name: `${archive}/data/${key}`, data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) });
    }
    p.str(name);
    p.global('torch._utils', '_rebuild_tensor_v2').op(OP.MARK);
    p.op(OP.MARK).str('storage').global('torch', 'FloatStorage').str(key).str('cpu').int(t.data.length).op(OP.TUPLE).op(OP.BINPERSID);
    p.int(0).tuple(t.shape).tuple(strides(t.shape)).op(OP.NEWFALSE).emptyOrderedDict();
    p.op(OP.TUPLE).op(OP.REDUCE);
  }
  p.op(OP.SETITEMS).op(OP.STOP);
  entries.push({ name: `${archive}/data.pkl`, data: p.bytes() });
  entries.push({ name: `${archive}/byteorder`, data: Buffer.from('little') });
  entries.push(...storages);
  entries.push({ name: `${archive}/version`, data: Buffer.from('3\n') });
  writeZip(file, entries);
}
