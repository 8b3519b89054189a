/**
 * Block-32 weight quantization with GGUF's Q8_0 / Q4_0 arithmetic, laid out for ORT's
 * MatMulNBits: one row per output feature, K (input) contiguous, blocks of 32 along K.
 *
 *   Q8_0  d = amax/127,  q = round(x/d) ∈ [−127, 127]           stored as q + 128 (zero point 128)
 *   Q4_0  d = m/−8 (m: the value with the largest |x|), q = min(15, ⌊x/d + 8.5⌋) ∈ [0, 15]  (zero point 8)
 *
 * x ≈ (stored − zero point) · d for both, with d rounded to fp16 as GGUF stores it, so the
 * same payload dequantizes identically here, in MatMulNBits and in llama.cpp. Nibble order
 * differs: MatMulNBits packs elements 2j, 2j+1 into byte j (low first); GGUF packs j and j+16
 * (see `toGgufBlocks`).
 */
import { f32BitsToF16 } from '../models/float16.js';

export const BLOCK_SIZE = 32;
export type Bits = 4 | 8;

/** One [N, K] matrix, quantized. */
export interface QuantizedMatrix {
  bits: Bits;
  /** Output features (rows). */
  n: number;
  /** Input features; a multiple of BLOCK_SIZE. */
  k: number;
  /** MatMulNBits B: [n, k/32, 32·bits/8] bytes. */
  qweight: Uint8Array;
  /** fp16 bit patterns [n, k/32]. */
  scales: Uint16Array;
}

const f32Bits = new Float32Array(1);
const u32Bits = new Uint32Array(f32Bits.buffer);
function toF16(x: number): number {
  f32Bits[0] = x;
  return f32BitsToF16(u32Bits[0]);
}

/** C's roundf: halves away from zero (Math.round takes them up). */
const roundf = (x: number) => (x < 0 ? -Math.round(-x) : Math.round(x));

/** Quantizes a row-major [n, k] matrix (k a multiple of 32). */
export function quantizeMatrix(data: Float32Array, n: number, k: number, bits: Bits): QuantizedMatrix {
  const blocks = k / BLOCK_SIZE;
  const bytesPerBlock = (BLOCK_SIZE * bits) / 8;
  const qweight = new Uint8Array(n * blocks * bytesPerBlock);
  const scales = new Uint16Array(n * blocks);
  for (let r = 0; r < n; r++) {
    for (let b = 0; b < blocks; b++) {
      const src = r * k + b * BLOCK_SIZE;
      const dst = (r * blocks + b) * bytesPerBlock;
      let amax = 0;
      let max = 0;
      for (let i = 0; i < BLOCK_SIZE; i++) {
        const v = data[src + i];
        if (Math.abs(v) > amax) {
          amax = Math.abs(v);
          max = v;
        }
      }
      // d is computed in float32 and 1/d used for q, as llama.cpp's reference quantizer does.
      const d = Math.fround(bits === 8 ? amax / 127 : max / -8);
      const id = d !== 0 ? Math.fround(1 / d) : 0;
      scales[r * blocks + b] = toF16(d);
      if (bits === 8) {
        for (let i = 0; i < BLOCK_SIZE; i++) qweight[dst + i] = roundf(Math.fround(data[src + i] * id)) + 128;
      } else {
        for (let i = 0; i < BLOCK_SIZE; i += 2) {
          const q0 = Math.min(15, Math.trunc(Math.fround(data[src + i] * id) + 8.5));
          const q1 = Math.min(15, Math.trunc(Math.fround(data[src + i + 1] * id) + 8.5));
          qweight[dst + i / 2] = q0 | (q1 << 4);
        }
      }
    }
  }
  return { bits, n, k, qweight, scales };
}

/** Back to a row-major [n, k] float32 matrix: (q − zero point) · d. */
export function dequantizeMatrix(m: QuantizedMatrix, f16ToNumber: (h: number) => number): Float32Array {
  const { n, k, bits } = m;
  const blocks = k / BLOCK_SIZE;
  const bytesPerBlock = (BLOCK_SIZE * bits) / 8;
  const out = new Float32Array(n * k);
  for (let r = 0; r < n; r++) {
    for (let b = 0; b < blocks; b++) {
      const d = f16ToNumber(m.scales[r * blocks + b]);
      const src = (r * blocks + b) * bytesPerBlock;
      const dst = r * k + b * BLOCK_SIZE;
      if (bits === 8) {
        for (let i = 0; i < BLOCK_SIZE; i++) out[dst + i] = (m.qweight[src + i] - 128) * d;
      } else {
        for (let i = 0; i < BLOCK_SIZE / 2; i++) {
          const byte = m.qweight[src + i];
          out[dst + 2 * i] = ((byte & 15) - 8) * d;
          out[dst + 2 * i + 1] = ((byte >> 4) - 8) * d;
        }
      }
    }
  }
  return out;
}

/**
 * The same payload as GGUF Q8_0 / Q4_0 blocks (`{fp16 d; qs[…]}` per 32 values), rows in
 * the order `rowOrder` gives (default: as stored).
 */
export function toGgufBlocks(m: QuantizedMatrix, rowOrder?: ArrayLike<number>): Uint8Array {
  const blocks = m.k / BLOCK_SIZE;
  const payload = (BLOCK_SIZE * m.bits) / 8;
  const blockBytes = 2 + payload;
  const out = new Uint8Array(m.n * blocks * blockBytes);
  const view = new DataView(out.buffer);
  for (let r = 0; r < m.n; r++) {
    const srcRow = rowOrder ? rowOrder[r] : r;
    for (let b = 0; b < blocks; b++) {
      const at = (r * blocks + b) * blockBytes;
      view.setUint16(at, m.scales[srcRow * blocks + b], true);
      const src = (srcRow * blocks + b) * payload;
      if (m.bits === 8) {
        for (let i = 0; i < BLOCK_SIZE; i++) out[at + 2 + i] = (m.qweight[src + i] - 128) & 0xff; // int8 two's complement
      } else {
        const q = (i: number) => (m.qweight[src + (i >> 1)] >> ((i & 1) * 4)) & 15;
        for (let j = 0; j < 16; j++) out[at + 2 + j] = q(j) | (q(j + 16) << 4);
      }
    }
  }
  return out;
}
