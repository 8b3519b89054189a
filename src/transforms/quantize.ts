/**
 * Quantized models on disk and in memory. A quantized weight `W` is stored in
 * model.safetensors as two tensors beside the float ones:
 *
 *   W.qweight  U8  [N, K/32, 32·bits/8]   MatMulNBits' B (rows = output features)
 *   W.scales   F16 [N, K/32]              one fp16 scale per block (GGUF's d)
 *
 * and config.json says so in `quantization_config` ({quant_method: "smolbox_blocks", bits,
 * block_size, modules}). Conv1D weights ([in, out]) are transposed to [out, in] first,
 * so every payload has the same orientation. In memory the engine holds the dequantized
 * floats (the exact values the quantized model computes with); the payload is kept for
 * export (GGUF blocks, the ONNX integer kernels).
 */
import { f16ToF32, f32BitsToF16 } from '../models/float16.js';
import type { RawTensor } from '../models/safetensors.js';
import { isInOut, type ParamSpec } from '../models/architecture.js';
import type { Tensor, Weights } from '../models/tensor.js';
import { BLOCK_SIZE, dequantizeMatrix, quantizeMatrix, type Bits, type QuantizedMatrix } from './blocks.js';

export const QUANT_METHOD = 'smolbox_blocks';

/** What `quantizeWeights` returns. */
export interface QuantizedWeights {
  /** Float weights to store: everything but the quantized matrices. */
  stored: Weights;
  /** The payloads (qweight + scales per quantized matrix). */
  raw: Map<string, RawTensor>;
  /** All parameters as floats, the quantized ones dequantized: what the model computes with. */
  dequantized: Weights;
  /** Names quantized, and names left in float because K is not a multiple of 32. */
  quantized: string[];
  skipped: string[];
  /** Root-mean-square quantization error over the quantized values. */
  rmsError: number;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);
const f16Scratch = new Uint16Array(1);
const f32Out = new Float32Array(1);
/** One fp16 bit pattern as a number. */
export function halfToNumber(h: number): number {
  f16Scratch[0] = h;
  f16ToF32(f16Scratch, f32Out);
  return f32Out[0];
}

/** [rows, cols] → [cols, rows]. */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** A weight as [N, K] (output rows), whatever its stored layout. */
function asRows(inOut: boolean, t: Tensor): { n: number; k: number; data: Float32Array } {
  const [a, b] = t.shape;
  return inOut ? { n: b, k: a, data: transpose(t.data, a, b) } : { n: a, k: b, data: t.data };
}

/** Back from [N, K] rows to the stored layout. */
function fromRows(inOut: boolean, n: number, k: number, data: Float32Array): Tensor {
  return inOut ? { shape: [k, n], data: transpose(data, n, k) } : { shape: [n, k], data };
}

function payload(m: QuantizedMatrix): [RawTensor, RawTensor] {
  const blocks = m.k / BLOCK_SIZE;
  return [
    { dtype: 'U8', shape: [m.n, blocks, (BLOCK_SIZE * m.bits) / 8], bytes: Buffer.from(m.qweight.buffer, m.qweight.byteOffset, m.qweight.byteLength) },
    { dtype: 'F16', shape: [m.n, blocks], bytes: Buffer.from(m.scales.buffer, m.scales.byteOffset, m.scales.byteLength) },
  ];
}

/** One weight to quantize and its bits. */
export interface QuantTarget {
  spec: ParamSpec;
  bits: Bits;
}

/** Quantizes `targets` (2-D weights) of `weights`, each to its bits. */
export function quantizeWeights(weights: Weights, targets: readonly QuantTarget[], signal?: AbortSignal): QuantizedWeights {
  const stored: Weights = new Map(weights);
  const dequantized: Weights = new Map(weights);
  const raw = new Map<string, RawTensor>();
  const quantized: string[] = [];
  const skipped: string[] = [];
  let sq = 0;
  let count = 0;
  for (const { spec: p, bits } of targets) {
    signal?.throwIfAborted();
    const t = weights.get(p.name)!;
    const { n, k, data } = asRows(isInOut(p), t);
    if (k % BLOCK_SIZE !== 0) {
      skipped.push(p.name);
      continue;
    }
    const m = quantizeMatrix(data, n, k, bits);
    const back = dequantizeMatrix(m, halfToNumber);
    for (let i = 0; i < back.length; i++) sq += (back[i] - data[i]) ** 2;
    count += back.length;
    const [qweight, scales] = payload(m);
    raw.set(`${p.name}.qweight`, qweight);
    raw.set(`${p.name}.scales`, scales);
    stored.delete(p.name);
    dequantized.set(p.name, fromRows(isInOut(p), n, k, back));
    quantized.push(p.name);
  }
  return { stored, raw, dequantized, quantized, skipped, rmsError: count ? Math.sqrt(sq / count) : 0 };
}

/**
 * config.json for a quantized model: `bits` is the precision asked for; `module_bits` lists the
 * modules stored at other bits (a head kept at 8 when the rest is 4). Readers take each
 * module's bits from its payload's shape; these keys say it for people.
 */
export function quantizedConfig(config: Record<string, unknown>, bits: Bits, targets: readonly QuantTarget[], modules: string[]): Record<string, unknown> {
  const done = new Set(modules);
  const other = Object.fromEntries(targets.filter((t) => done.has(t.spec.name) && t.bits !== bits).map((t) => [t.spec.name, t.bits]));
  const moduleBits = Object.keys(other).length ? { module_bits: other } : {};
  return { ...config, quantization_config: { quant_method: QUANT_METHOD, bits, block_size: BLOCK_SIZE, modules, ...moduleBits } };
}

/** The quantized matrices a checkpoint's raw tensors hold, by weight name. */
export function quantizedMatrices(raw: ReadonlyMap<string, RawTensor> | undefined): Map<string, QuantizedMatrix> {
  const out = new Map<string, QuantizedMatrix>();
  for (const [key, q] of raw ?? []) {
    if (!key.endsWith('.qweight') || q.dtype !== 'U8' || q.shape.length !== 3) continue;
    const name = key.slice(0, -'.qweight'.length);
    const s = raw!.get(`${name}.scales`);
    if (!s || s.dtype !== 'F16') continue;
    const [n, blocks, bytes] = q.shape;
    const bits = ((bytes * 8) / BLOCK_SIZE) as Bits;
    const scales = new Uint16Array(s.bytes.byteLength / 2);
    Buffer.from(scales.buffer).set(s.bytes);
    out.set(name, { bits, n, k: blocks * BLOCK_SIZE, qweight: new Uint8Array(q.bytes.buffer, q.bytes.byteOffset, q.bytes.byteLength), scales });
  }
  return out;
}

/**
 * The reader's hook: safetensors widens the F16 scales into `weights`; this moves them back
 * to `raw` (as fp16 bytes, exactly) and puts each quantized weight, dequantized, into
 * `weights`, so the architectures see an ordinary float model. `inOut` says which weights the
 * architecture stores [in, out] (Conv1D): their payload rows are turned back.
 */
export function dequantizeStored(weights: Weights, raw: Map<string, RawTensor>, inOut: (name: string) => boolean): void {
  for (const key of [...raw.keys()]) {
    if (!key.endsWith('.qweight')) continue;
    const name = key.slice(0, -'.qweight'.length);
    const scales = weights.get(`${name}.scales`);
    if (!scales) continue;
    const bits16 = new Uint16Array(scales.data.length);
    const u32 = new Uint32Array(scales.data.buffer, scales.data.byteOffset, scales.data.length);
    for (let i = 0; i < bits16.length; i++) bits16[i] = f32BitsToF16(u32[i]);
    raw.set(`${name}.scales`, { dtype: 'F16', shape: scales.shape, bytes: Buffer.from(bits16.buffer) });
    weights.delete(`${name}.scales`);
  }
  for (const [name, m] of quantizedMatrices(raw)) {
    weights.set(name, fromRows(inOut(name), m.n, m.k, dequantizeMatrix(m, halfToNumber)));
  }
}
