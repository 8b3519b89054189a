/**
 * Half-precision conversions (IEEE binary16 and bfloat16) over whole arrays. They run on
 * every F16/BF16 checkpoint load and every fp16 write, so they work on bit patterns in tight
 * loops rather than through DataView per element.
 */

let f16Table: Float32Array | undefined;

/** All 65536 binary16 values as float32, built once (256 KB). */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const table = new Float32Array(65536);
  const bits = new Uint32Array(table.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0x1f) bits[h] = sign | 0x7f800000 | (mant << 13); // inf / NaN
    else if (exp !== 0) bits[h] = sign | ((exp + 112) << 23) | (mant << 13);
    else table[h] = (sign ? -1 : 1) * mant * 2 ** -24; // zero and subnormals
  }
  return (f16Table = table);
}

/** Widen binary16 bit patterns to float32 (exact). */
export function f16ToF32(src: Uint16Array, dst: Float32Array): void {
  const table = halfTable();
  for (let i = 0; i < src.length; i++) dst[i] = table[src[i]];
}

/** Widen bfloat16 bit patterns to float32 (exact: bf16 is the top half of a float32). */
export function bf16ToF32(src: Uint16Array, dst: Float32Array): void {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] << 16;
}

/** Narrow float32 to binary16 bit patterns, rounding to nearest even (overflow → ±inf). */
export function f32ToF16(src: Float32Array, dst: Uint16Array): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) dst[i] = f32BitsToF16(bits[i]);
}

/** One float32 bit pattern to binary16 (round to nearest even). */
export function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  const h = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to inf).
  return rem > 0x1000 || (rem === 0x1000 && (h & 1)) ? h + 1 : h;
}

/** Narrow float32 to bfloat16 bit patterns, rounding to nearest even (NaN stays NaN). */
export function f32ToBf16(src: Float32Array, dst: Uint16Array): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i];
    if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) dst[i] = (x >>> 16) | 0x40;
    else dst[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
}
