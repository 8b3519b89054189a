/**
 * The AdamW update as a WebAssembly SIMD kernel (f32x4), because V8 runs the plain loop in
 * scalar code: ~16 ns per parameter here, which made the optimizer an eighth of a GPT-2 step.
 * The kernel works on a fixed scratch of four CHUNK-element arrays (p, g, m, v) in its own
 * memory; `MAKE_KERNELS_SOURCE` copies each tensor through it chunk by chunk (memcpy speed), so
 * the callers keep their plain Float32Arrays (which ORT reads and workers receive by transfer).
 * The gradient norm before it (Σ g², accumulated in float64 lanes) is a second, smaller kernel
 * on the same scratch: the scalar loop took 110 ms of a gpt2-124M step's optimizer.
 *
 * The arithmetic is PyTorch's AdamW in float32 (torch computes in the parameter's dtype too):
 *   g ← g·gradScale;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   p ← p·decay − stepSize·m / (√v·invSqrtBc2 + ε)
 * with the scalars of `updateScalars` in adamw.ts. The module is written byte by byte below
 * (there is no WebAssembly toolchain in the build), small enough to read against the spec.
 */

/** Elements per scratch array (4 × 1 MiB): measured here, 8K–16K-element chunks ran 3× slower. */
export const CHUNK = 262144;

const I32 = 0x7f;
const F32 = 0x7d;
const F64 = 0x7c;
const V128 = 0x7b;

/** Unsigned LEB128. */
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const vec = (items: number[][]) => [...leb(items.length), ...items.flat()];
const name = (s: string) => [...leb(s.length), ...Buffer.from(s, 'ascii')];

// Instructions used by the kernel.
const get = (i: number) => [0x20, ...leb(i)];
const set = (i: number) => [0x21, ...leb(i)];
const simd = (op: number) => [0xfd, ...leb(op)];
/** v128.load / v128.store with 16-byte alignment (2^4) at a constant byte offset. */
const load = (offset: number) => [...simd(0x00), 4, ...leb(offset)];
const store = (offset: number) => [...simd(0x0b), 4, ...leb(offset)];
const splat = simd(0x13);
/** i8x16.shuffle whose 16 lane indices swap a vector's halves. */
const swapHalves = [...simd(0x0d), 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
const promoteLow = simd(0x5f);
const extractF64 = (lane: number) => [...simd(0x21), lane];
const addF64 = simd(0xf0);
const mulF64 = simd(0xf2);
const sqrt = simd(0xe3);
const add = simd(0xe4);
const sub = simd(0xe5);
const mul = simd(0xe6);
const div = simd(0xe7);

/**
 * `body` once per 16-byte vector of the scratch: parameter 0 holds the vector count, local
 * `off` walks the byte offset from 0 and local `end` is set to count × 16.
 */
function vectorLoop(off: number, end: number, body: number[]): number[] {
  return [
    ...get(0), 0x41, ...leb(16), 0x6c, ...set(end), // end = vectors * 16
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(off), ...get(end), 0x4f, 0x0d, 1, // off >= end: leave the block
    ...body,
    ...get(off), 0x41, ...leb(16), 0x6a, ...set(off), // off += 16
    0x0c, 0, // br loop
    0x0b, 0x0b, // end loop, end block
  ];
}

/**
 * The module: memory "mem" (the scratch), `adam(vectors: i32, gradScale, β1, β2, c1, c2,
 * decay, stepSize, invSqrtBc2, ε: f32)` and `sumsq(vectors: i32) → f64` (Σ g² over the g scratch).
 */
export function adamwWasmBytes(): Uint8Array {
  const P = 0;
  const G = CHUNK * 4;
  const M = 2 * CHUNK * 4;
  const V = 3 * CHUNK * 4;
  // Parameters 0 (vectors) and 1..9 (the scalars); locals 10 offset, 11 end (i32), 12..20 the
  // scalars splatted, 21 g, 22 m, 23 v (v128).
  const [OFF, END, GI, MI, VI] = [10, 11, 21, 22, 23];
  const S = (k: number) => 11 + k; // splat of scalar parameter k (1..9)
  const body = [
    ...vec([[2, I32], [12, V128]]),
    ...[1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((k) => [...get(k), ...splat, ...set(S(k))]),
    ...vectorLoop(OFF, END, [
      ...get(OFF), ...load(G), ...get(S(1)), ...mul, ...set(GI),
      ...get(S(2)), ...get(OFF), ...load(M), ...mul, ...get(S(4)), ...get(GI), ...mul, ...add, ...set(MI),
      ...get(S(3)), ...get(OFF), ...load(V), ...mul, ...get(S(5)), ...get(GI), ...mul, ...get(GI), ...mul, ...add, ...set(VI),
      ...get(OFF), ...get(MI), ...store(M),
      ...get(OFF), ...get(VI), ...store(V),
      ...get(OFF),
      ...get(OFF), ...load(P), ...get(S(6)), ...mul,
      ...get(S(7)), ...get(MI), ...mul,
      ...get(VI), ...sqrt, ...get(S(8)), ...mul, ...get(S(9)), ...add,
      ...div, ...sub, ...store(P),
    ]),
    0x0b, // end function
  ];
  // sumsq: parameter 0 (vectors); locals 1 offset, 2 end (i32), 3 and 4 the float64 sums of
  // the low and high halves, 5 the loaded vector, 6 one half widened (v128).
  const [SOFF, SEND, LO, HI, X, W] = [1, 2, 3, 4, 5, 6];
  const square = (acc: number) => [...get(W), ...get(W), ...mulF64, ...get(acc), ...addF64, ...set(acc)];
  const sumsq = [
    ...vec([[2, I32], [4, V128]]),
    ...vectorLoop(SOFF, SEND, [
      ...get(SOFF), ...load(G), ...set(X),
      ...get(X), ...promoteLow, ...set(W), ...square(LO),
      ...get(X), ...get(X), ...swapHalves, ...promoteLow, ...set(W), ...square(HI),
    ]),
    ...get(LO), ...get(HI), ...addF64, ...set(LO),
    ...get(LO), ...extractF64(0), ...get(LO), ...extractF64(1), 0xa0, // f64.add
    0x0b, // end function
  ];
  const pages = Math.ceil((4 * CHUNK * 4) / 65536);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec([[I32], ...new Array<number[]>(9).fill([F32])]), 0], [0x60, ...vec([[I32]]), ...vec([[F64]])]])),
    ...section(3, vec([[0], [1]])),
    ...section(5, vec([[0, ...leb(pages)]])),
    ...section(7, vec([[...name('mem'), 2, 0], [...name('adam'), 0, 0], [...name('sumsq'), 0, 1]])),
    ...section(10, vec([[...leb(body.length), ...body], [...leb(sumsq.length), ...sumsq]])),
  ]);
}

/**
 * Source of a function `(bytes, CHUNK) => ({ update(p, g, m, v, ...scalars), sumOfSquares(g) })`
 * that runs the kernels over whole tensors; text, so the optimizer's worker threads build the
 * very same functions.
 */
export const MAKE_KERNELS_SOURCE = `
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes));
  const scratch = (k) => new Float32Array(exports.mem.buffer, k * CHUNK * 4, CHUNK);
  const [P, G, M, V] = [0, 1, 2, 3].map(scratch);
  const update = (p, g, m, v, ...scalars) => {
    const n = p.length;
    for (let start = 0; start < n; start += CHUNK) {
      const end = Math.min(n, start + CHUNK);
      const len = end - start;
      P.set(p.subarray(start, end));
      G.set(g.subarray(start, end));
      M.set(m.subarray(start, end));
      V.set(v.subarray(start, end));
      // Lanes past len in the last vector compute on stale scratch and are not copied back.
      exports.adam(Math.ceil(len / 4), ...scalars);
      p.set(P.subarray(0, len), start);
      m.set(M.subarray(0, len), start);
      v.set(V.subarray(0, len), start);
    }
  };
  const sumOfSquares = (g) => {
    let sum = 0;
    for (let start = 0; start < g.length; start += CHUNK) {
      const end = Math.min(g.length, start + CHUNK);
      const len = end - start;
      G.set(g.subarray(start, end));
      // The last vector's lanes past len would add stale scratch: zero them.
      G.fill(0, len, Math.ceil(len / 4) * 4);
      sum += exports.sumsq(Math.ceil(len / 4));
    }
    return sum;
  };
  return { update, sumOfSquares };`;
