/**
 * A model as a llama.cpp GGUF file: llama.cpp's architecture names, tensor names and
 * metadata keys (as its convert_hf_to_gguf.py writes them), floats as F32 (F16 for the
 * matrices of an fp16 model), quantized matrices as Q8_0 / Q4_0 blocks — the same payload,
 * repacked, so the export is lossless.
 *
 * Names, hyperparameters and any row permutation come from the architecture's `gguf` spec;
 * Conv1D weights ([in, out]) are transposed to [out, in] here, for every family.
 */
import { UserError } from '../core/tool.js';
import { isInOut, type Architecture, type DecoderConfig, type GgufSpec, type ParamSpec } from '../models/architecture.js';
import { f32ToF16 } from '../models/float16.js';
import type { Tensor, Weights } from '../models/tensor.js';
import { toGgufBlocks, type QuantizedMatrix } from '../transforms/blocks.js';
import { type GgmlType, type GgufTensor, type GgufValue, writeGguf } from './gguf-format.js';
import { tokenizerMetadata } from './gguf-tokenizer.js';

export interface GgufSource {
  /** Directory holding tokenizer.json (for the tokenizer.ggml.* keys), if any. */
  dir: string;
  arch: Architecture;
  cfg: DecoderConfig;
  /** Float parameters (quantized ones dequantized; their payloads come from `quantized`). */
  weights: Weights;
  /** Quantized matrices by weight name, written as Q8_0 / Q4_0. */
  quantized: Map<string, QuantizedMatrix>;
  /** Store float matrices as F16 (the model was stored in fp16). */
  half: boolean;
  name: string;
}

/** llama.cpp's GGUF description of an architecture; a UserError where llama.cpp has none. */
function ggufSpecOf(arch: Architecture): GgufSpec {
  if (!arch.gguf) throw new UserError(`--export_format gguf: llama.cpp has no ${arch.modelType} architecture; use onnx or safetensors`);
  return arch.gguf;
}

/** The GGUF name of a Hugging Face tensor name, by the architecture's rules. */
export function ggufTensorName(spec: GgufSpec, name: string): string {
  for (const [re, to] of spec.tensorNames) if (re.test(name)) return name.replace(re, to);
  throw new Error(`no GGUF name for ${name}`);
}

function rowsOf(t: Tensor, order: Int32Array | null): Float32Array {
  if (!order) return t.data;
  const cols = t.shape.length === 2 ? t.shape[1] : 1;
  const out = new Float32Array(t.data.length);
  for (let r = 0; r < order.length; r++) out.set(t.data.subarray(order[r] * cols, (order[r] + 1) * cols), r * cols);
  return out;
}

function transposed(t: Tensor): Tensor {
  const [a, b] = t.shape;
  const out = new Float32Array(t.data.length);
  for (let r = 0; r < a; r++) for (let c = 0; c < b; c++) out[c * a + r] = t.data[r * b + c];
  return { shape: [b, a], data: out };
}

function floatBytes(data: Float32Array, type: GgmlType): Uint8Array {
  if (type === 'F32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const half = new Uint16Array(data.length);
  f32ToF16(data, half);
  return new Uint8Array(half.buffer);
}

/** The size keys every architecture has, then the architecture's own, under its prefix. */
function hyperparameters(spec: GgufSpec, cfg: DecoderConfig): [string, GgufValue][] {
  const u32 = (value: number): GgufValue => ({ type: 'u32', value });
  const kv: [string, GgufValue][] = [
    ['context_length', u32(spec.contextLength?.(cfg) ?? cfg.maxPositions)],
    ['embedding_length', u32(cfg.hiddenSize)],
    ['block_count', u32(cfg.numLayers)],
    ['attention.head_count', u32(cfg.numHeads)],
    ...spec.hyperparameters(cfg),
  ];
  return kv.map(([k, v]) => [`${spec.arch}.${k}`, v]);
}

/** The GGUF tensors of a model, in model order, head included. */
export function ggufTensors(src: GgufSource, params: ParamSpec[]): GgufTensor[] {
  const spec = ggufSpecOf(src.arch);
  const out: GgufTensor[] = (spec.extraTensors?.(src.cfg) ?? []).map((t) => ({ name: t.name, shape: t.shape, type: 'F32', data: floatBytes(t.data, 'F32') }));
  for (const p of params) {
    const t = src.weights.get(p.name)!;
    const order = spec.rowOrder?.(p, src.cfg) ?? null;
    const q = src.quantized.get(p.name);
    const ggufName = ggufTensorName(spec, p.name);
    const shift = spec.valueShift?.(p) ?? 0;
    if (q) {
      if (shift !== 0) throw new Error(`${p.name}: a shifted tensor cannot be written from quantized blocks`);
      out.push({ name: ggufName, shape: [q.n, q.k], type: q.bits === 8 ? 'Q8_0' : 'Q4_0', data: toGgufBlocks(q, order ?? undefined) });
      continue;
    }
    const shifted = shift !== 0 ? { shape: t.shape, data: t.data.map((v) => v + shift) } : t;
    const oriented = isInOut(p) ? transposed(shifted) : shifted;
    const type: GgmlType = src.half && oriented.shape.length === 2 ? 'F16' : 'F32';
    out.push({ name: ggufName, shape: oriented.shape, type, data: floatBytes(rowsOf(oriented, order), type) });
  }
  if (spec.writesTiedHead && src.cfg.tieWordEmbeddings) {
    const embd = out.find((t) => t.name === 'token_embd.weight')!;
    out.push({ ...embd, name: 'output.weight' });
  }
  return out;
}

/** Writes `file`; returns the tensor count and the file type. */
export function exportGguf(file: string, src: GgufSource, params: ParamSpec[]): { tensors: number; fileType: number } {
  const spec = ggufSpecOf(src.arch);
  // Hyperparameters first: they refuse what llama.cpp cannot hold before any tensor is converted.
  const hyper = hyperparameters(spec, src.cfg);
  const tensors = ggufTensors(src, params);
  const bits = new Set([...src.quantized.values()].map((q) => q.bits));
  const fileType = bits.has(4) ? 2 : bits.has(8) ? 7 : src.half ? 1 : 0; // LLAMA_FTYPE_MOSTLY_Q4_0 / Q8_0 / F16 / ALL_F32
  const metadata = new Map<string, GgufValue>([
    ['general.architecture', { type: 'string', value: spec.arch }],
    ['general.name', { type: 'string', value: src.name }],
    ['general.file_type', { type: 'u32', value: fileType }],
    ...hyper,
    // May replace general.name (a Map keeps the first key's place and the last value).
    ...tokenizerMetadata(src.dir, src.cfg, spec, src.name),
  ]);
  writeGguf(file, metadata, tensors);
  return { tensors: tensors.length, fileType };
}

