import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  readSafetensors,
  readShardedSafetensors,
  writeSafetensors,
  type RawTensor,
} from '../../src/models/safetensors.js';
import { f16ToF32, f32ToF16, f32ToBf16, bf16ToF32, f32BitsToF16 } from '../../src/models/float16.js';
import { UserError } from '../../src/core/tool.js';
import type { Tensor } from '../../src/models/tensor.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-st-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Build a file by hand, per the spec: u64 LE header length, JSON header, data buffer. */
function handMade(header: object, data: Buffer, padTo8 = false): Buffer {
  let json = JSON.stringify(header);
  if (padTo8) json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json), data]);
}

function f32Bytes(values: number[]): Buffer {
  return Buffer.from(new Float32Array(values).buffer);
}

describe('readSafetensors', () => {
  it('reads a file built by hand per the spec (F32, F16, BF16, I64, metadata)', () => {
    const f16 = new Uint16Array(3);
    f32ToF16(new Float32Array([1, -2.5, 65504]), f16);
    const bf16 = new Uint16Array(2);
    f32ToBf16(new Float32Array([3, -0.15625]), bf16);
    const i64 = Buffer.alloc(16);
    i64.writeBigInt64LE(7n, 0);
    i64.writeBigInt64LE(-1n, 8);
    const data = Buffer.concat([f32Bytes([1, 2, 3, 4, 5, 6]), Buffer.from(f16.buffer), Buffer.from(bf16.buffer), i64]);
    const file = path.join(dir, 'a.safetensors');
    fs.writeFileSync(file, handMade({
      // Header order differs from data order on purpose: offsets decide.
      'h.f16': { dtype: 'F16', shape: [3], data_offsets: [24, 30] },
      w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
      'h.bf16': { dtype: 'BF16', shape: [2, 1], data_offsets: [30, 34] },
      ids: { dtype: 'I64', shape: [2], data_offsets: [34, 50] },
      __metadata__: { format: 'pt', note: 'hi' },
    }, data));

    const out = readSafetensors(file);
    expect(out.metadata).toEqual({ format: 'pt', note: 'hi' });
    expect(out.weights.get('w')!.shape).toEqual([2, 3]);
    expect([...out.weights.get('w')!.data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...out.weights.get('h.f16')!.data]).toEqual([1, -2.5, 65504]);
    expect(out.weights.get('h.bf16')!.shape).toEqual([2, 1]);
    expect([...out.weights.get('h.bf16')!.data]).toEqual([3, -0.15625]);
    const ids = out.raw.get('ids')!;
    expect(ids.dtype).toBe('I64');
    expect(ids.bytes.readBigInt64LE(8)).toBe(-1n);
    expect(out.weights.has('ids')).toBe(false);
  });

  it('reads a zero-element tensor and an empty header', () => {
    const file = path.join(dir, 'e.safetensors');
    fs.writeFileSync(file, handMade({ z: { dtype: 'F32', shape: [0, 4], data_offsets: [0, 0] } }, Buffer.alloc(0)));
    expect(readSafetensors(file).weights.get('z')!.data.length).toBe(0);
  });

  const cases: [string, () => Buffer, RegExp][] = [
    ['truncated data', () => handMade({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32Bytes([1, 2])), /tensor w .*truncated/],
    ['mislabelled dtype size', () => handMade({ w: { dtype: 'F16', shape: [4], data_offsets: [0, 16] } }, f32Bytes([1, 2, 3, 4])), /tensor w is mislabelled/],
    ['unknown dtype', () => handMade({ w: { dtype: 'F8_E9', shape: [1], data_offsets: [0, 1] } }, Buffer.alloc(1)), /tensor w has unsupported dtype/],
    ['gap between tensors', () => handMade({
      a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
    }, Buffer.alloc(12)), /tensor b starts at byte 8, expected 4/],
    ['trailing bytes', () => handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(8)), /trailing bytes/],
    ['header longer than file', () => { const b = Buffer.alloc(16); b.writeBigUInt64LE(1000n); return b; }, /header length 1000/],
    ['tiny file', () => Buffer.alloc(3), /only 3 bytes/],
    ['non-JSON header', () => { const b = Buffer.alloc(12); b.writeBigUInt64LE(4n); b.write('{{{{', 8); return b; }, /not JSON/],
  ];
  for (const [what, make, message] of cases) {
    it(`rejects ${what} with a UserError naming the file`, () => {
      const file = path.join(dir, 'bad.safetensors');
      fs.writeFileSync(file, make());
      let err: unknown;
      try { readSafetensors(file); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toContain(file);
    });
  }

  it('names a missing file', () => {
    expect(() => readSafetensors(path.join(dir, 'nope.safetensors'))).toThrow(/cannot open .*nope.safetensors: ENOENT/);
  });

  it('stops when the signal is aborted', () => {
    const file = path.join(dir, 'x.safetensors');
    writeSafetensors(file, new Map([['a', { shape: [2], data: new Float32Array(2) }]]));
    const ac = new AbortController();
    ac.abort();
    expect(() => readSafetensors(file, { signal: ac.signal })).toThrow();
  });
});

describe('writeSafetensors', () => {
  function randomWeights(): Map<string, Tensor> {
    const w = new Map<string, Tensor>();
    let seed = 1;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    for (const [name, shape] of [['z.last', [3, 5]], ['a.first', [7]], ['m.mid', [2, 2, 2]]] as const) {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(rnd);
      w.set(name, { shape: [...shape], data });
    }
    return w;
  }

  it('round-trips F32 exactly, sorted by name, header padded to 8, format pt', () => {
    const w = randomWeights();
    const file = path.join(dir, 'model.safetensors');
    writeSafetensors(file, w, { metadata: { tool: 'test' } });
    const bytes = fs.readFileSync(file);
    const headerLen = Number(bytes.readBigUInt64LE(0));
    expect(headerLen % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString());
    expect(header.__metadata__).toEqual({ format: 'pt', tool: 'test' });
    expect(Object.keys(header).filter((k) => k !== '__metadata__')).toEqual(['a.first', 'm.mid', 'z.last']);
    const back = readSafetensors(file);
    for (const [name, t] of w) {
      expect(back.weights.get(name)!.shape).toEqual(t.shape);
      expect(back.weights.get(name)!.data).toEqual(t.data);
    }
    // Same weights inserted in another order → identical bytes.
    const file2 = path.join(dir, 'again.safetensors');
    writeSafetensors(file2, new Map([...w].reverse()), { metadata: { tool: 'test' } });
    expect(fs.readFileSync(file2).equals(bytes)).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('writes F16 that reads back within half precision, and raw tensors verbatim', () => {
    const w: Map<string, Tensor | RawTensor> = randomWeights();
    w.set('q', { dtype: 'U8', shape: [3], bytes: Buffer.from([1, 2, 255]) });
    const file = path.join(dir, 'h.safetensors');
    writeSafetensors(file, w, { dtype: 'F16' });
    const back = readSafetensors(file);
    for (const name of ['a.first', 'm.mid', 'z.last']) {
      const orig = (w.get(name) as Tensor).data;
      const got = back.weights.get(name)!.data;
      for (let i = 0; i < orig.length; i++) expect(Math.abs(got[i] - orig[i])).toBeLessThanOrEqual(Math.abs(orig[i]) * 2 ** -11 + 1e-7);
    }
    expect([...back.raw.get('q')!.bytes]).toEqual([1, 2, 255]);
    const bytes = fs.readFileSync(file);
    const headerLen = Number(bytes.readBigUInt64LE(0));
    expect(JSON.parse(bytes.subarray(8, 8 + headerLen).toString())['m.mid'].dtype).toBe('F16');
    expect(bytes.length - 8 - headerLen).toBe(30 * 2 + 3);
  });

  it('loads a large F32 tensor without a detour through strings (sanity on size)', () => {
    const n = 4_000_000; // 16 MB
    const data = new Float32Array(n);
    for (let i = 0; i < n; i += 9973) data[i] = i;
    const file = path.join(dir, 'big.safetensors');
    writeSafetensors(file, new Map([['big', { shape: [n], data }]]));
    const back = readSafetensors(file).weights.get('big')!.data;
    expect(back[9973 * 100]).toBe(9973 * 100);
    expect(back.length).toBe(n);
  });
});

describe('sharded checkpoints', () => {
  it('merges shards through model.safetensors.index.json', () => {
    writeSafetensors(path.join(dir, 'model-00001-of-00002.safetensors'), new Map([['a', { shape: [1], data: new Float32Array([1]) }]]));
    writeSafetensors(path.join(dir, 'model-00002-of-00002.safetensors'), new Map([['b', { shape: [2], data: new Float32Array([2, 3]) }]]));
    const index = path.join(dir, 'model.safetensors.index.json');
    fs.writeFileSync(index, JSON.stringify({
      metadata: { total_size: 12 },
      weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' },
    }));
    const progress: number[] = [];
    const out = readShardedSafetensors(index, { onProgress: (d, t) => progress.push(d / t) });
    expect([...out.weights.keys()]).toEqual(['a', 'b']);
    expect([...out.weights.get('b')!.data]).toEqual([2, 3]);
    expect(progress.at(-1)).toBe(1);
  });

  it('names a shard the index points to that is missing', () => {
    const index = path.join(dir, 'model.safetensors.index.json');
    fs.writeFileSync(index, JSON.stringify({ weight_map: { a: 'model-00001-of-00001.safetensors' } }));
    expect(() => readShardedSafetensors(index)).toThrow(/model-00001-of-00001.safetensors is missing/);
  });
});

describe('float16 conversions', () => {
  it('f16 → f32 → f16 is the identity on every non-NaN half', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const wide = new Float32Array(65536);
    f16ToF32(all, wide);
    const back = new Uint16Array(65536);
    f32ToF16(wide, back);
    for (let h = 0; h < 65536; h++) {
      if (Number.isNaN(wide[h])) expect(Number.isNaN(wide[h]) && (back[h] & 0x7c00) === 0x7c00 && (back[h] & 0x3ff) !== 0).toBe(true);
      else if (back[h] !== h) expect.fail(`half 0x${h.toString(16)} came back as 0x${back[h].toString(16)}`);
    }
  });

  it('rounds to nearest even and saturates to infinity', () => {
    const bits = (x: number) => f32BitsToF16(new Uint32Array(new Float32Array([x]).buffer)[0]);
    expect(bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even (down)
    expect(bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(bits(65520)).toBe(0x7c00); // rounds past max half → inf
    expect(bits(2 ** -25)).toBe(0); // tie with zero → even
    expect(bits(2 ** -25 * 1.5)).toBe(1); // smallest subnormal
    expect(bits(-0)).toBe(0x8000);
  });

  it('bf16 keeps the top half of float32', () => {
    const dst = new Float32Array(2);
    bf16ToF32(new Uint16Array([0x3f80, 0xc040]), dst);
    expect([...dst]).toEqual([1, -3]);
  });
});
