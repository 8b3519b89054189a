/**
 * A model as a llama.cpp GGUF file: llama.cpp's architecture names, tensor names and
 * metadata keys (as its convert_hf_to_gguf.py writes them), floats as F32 (F16 for the
 * matrices of an fp16 model), quantized matrices as Q8_0 / Q4_0 blocks — the same payload,
 * repacked, so the export is lossless.
 *
 * Two layout conversions: GPT-2's Conv1D weights ([in, out]) are transposed to [out, in], and
 * LLaMA/Mistral q_proj/k_proj rows are permuted from Hugging Face's rotate-half order to the
 * interleaved pairs llama.cpp's rope expects (per head: row s·D/2 + j → row 2j + s).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/tool.js';
import type { DecoderConfig } from '../models/architecture.js';
import type { Gpt2Config } from '../models/gpt2.js';
import type { LlamaConfig } from '../models/llama.js';
import { f32ToF16 } from '../models/float16.js';
import type { Tensor, Weights } from '../models/tensor.js';
import { toGgufBlocks, type QuantizedMatrix } from '../transforms/blocks.js';
import { isInOutLayout } from '../transforms/select.js';
import { type GgmlType, type GgufTensor, type GgufValue, writeGguf } from './gguf-format.js';

export interface GgufSource {
  /** Directory holding tokenizer.json (for the tokenizer.ggml.* keys), if any. */
  dir: string;
  cfg: DecoderConfig;
  /** Float parameters (quantized ones dequantized; their payloads come from `quantized`). */
  weights: Weights;
  /** Quantized matrices by weight name, written as Q8_0 / Q4_0. */
  quantized: Map<string, QuantizedMatrix>;
  /** Store float matrices as F16 (the model was stored in fp16). */
  half: boolean;
  name: string;
}

const GPT2_NAMES: [RegExp, string][] = [
  [/^transformer\.wte\.weight$/, 'token_embd.weight'],
  [/^transformer\.wpe\.weight$/, 'position_embd.weight'],
  [/^transformer\.h\.(\d+)\.ln_1\.(weight|bias)$/, 'blk.$1.attn_norm.$2'],
  [/^transformer\.h\.(\d+)\.attn\.c_attn\.(weight|bias)$/, 'blk.$1.attn_qkv.$2'],
  [/^transformer\.h\.(\d+)\.attn\.c_proj\.(weight|bias)$/, 'blk.$1.attn_output.$2'],
  [/^transformer\.h\.(\d+)\.ln_2\.(weight|bias)$/, 'blk.$1.ffn_norm.$2'],
  [/^transformer\.h\.(\d+)\.mlp\.c_fc\.(weight|bias)$/, 'blk.$1.ffn_up.$2'],
  [/^transformer\.h\.(\d+)\.mlp\.c_proj\.(weight|bias)$/, 'blk.$1.ffn_down.$2'],
  [/^transformer\.ln_f\.(weight|bias)$/, 'output_norm.$1'],
  [/^lm_head\.weight$/, 'output.weight'],
];

const LLAMA_NAMES: [RegExp, string][] = [
  [/^model\.embed_tokens\.weight$/, 'token_embd.weight'],
  [/^model\.layers\.(\d+)\.input_layernorm\.weight$/, 'blk.$1.attn_norm.weight'],
  [/^model\.layers\.(\d+)\.self_attn\.q_proj\.(weight|bias)$/, 'blk.$1.attn_q.$2'],
  [/^model\.layers\.(\d+)\.self_attn\.k_proj\.(weight|bias)$/, 'blk.$1.attn_k.$2'],
  [/^model\.layers\.(\d+)\.self_attn\.v_proj\.(weight|bias)$/, 'blk.$1.attn_v.$2'],
  [/^model\.layers\.(\d+)\.self_attn\.o_proj\.(weight|bias)$/, 'blk.$1.attn_output.$2'],
  [/^model\.layers\.(\d+)\.post_attention_layernorm\.weight$/, 'blk.$1.ffn_norm.weight'],
  [/^model\.layers\.(\d+)\.mlp\.gate_proj\.(weight|bias)$/, 'blk.$1.ffn_gate.$2'],
  [/^model\.layers\.(\d+)\.mlp\.up_proj\.(weight|bias)$/, 'blk.$1.ffn_up.$2'],
  [/^model\.layers\.(\d+)\.mlp\.down_proj\.(weight|bias)$/, 'blk.$1.ffn_down.$2'],
  [/^model\.norm\.weight$/, 'output_norm.weight'],
  [/^lm_head\.weight$/, 'output.weight'],
];

/** llama.cpp's architecture name for a model_type. */
function ggufArch(cfg: DecoderConfig): 'gpt2' | 'llama' | 'qwen2' {
  if (cfg.modelType === 'gpt2') return 'gpt2';
  if (cfg.modelType === 'qwen2') return 'qwen2';
  return 'llama'; // llama, mistral (llama.cpp reads Mistral as llama)
}

export function ggufTensorName(arch: string, name: string): string {
  for (const [re, to] of arch === 'gpt2' ? GPT2_NAMES : LLAMA_NAMES) if (re.test(name)) return name.replace(re, to);
  throw new Error(`no GGUF name for ${name}`);
}

/** Row order that turns rotate-half q/k rows into llama.cpp's interleaved pairs. */
export function ropeRowOrder(heads: number, headDim: number): Int32Array {
  const order = new Int32Array(heads * headDim);
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) for (let j = 0; j < half; j++) for (let s = 0; s < 2; s++) order[h * headDim + 2 * j + s] = h * headDim + s * half + j;
  return order;
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

/** tokenizer.ggml.* from a BPE tokenizer.json; empty when there is none. */
function tokenizerMetadata(dir: string, cfg: DecoderConfig, arch: string): Map<string, GgufValue> {
  const kv = new Map<string, GgufValue>();
  const file = path.join(dir, 'tokenizer.json');
  if (!fs.existsSync(file)) return kv;
  const tj = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[] };
    added_tokens?: { id: number; content: string; special?: boolean }[];
  };
  if (tj.model?.type !== 'BPE' || !tj.model.vocab) return kv;
  const tokens: string[] = [];
  const types: number[] = [];
  for (const [tok, id] of Object.entries(tj.model.vocab)) { tokens[id] = tok; types[id] = 1; }
  for (const a of tj.added_tokens ?? []) { tokens[a.id] = a.content; types[a.id] = a.special ? 3 : 4; }
  for (let i = 0; i < Math.max(cfg.vocabSize, tokens.length); i++) if (tokens[i] === undefined) { tokens[i] = `[PAD${i}]`; types[i] = 5; }
  kv.set('tokenizer.ggml.model', { type: 'string', value: 'gpt2' });
  kv.set('tokenizer.ggml.pre', { type: 'string', value: arch === 'gpt2' ? 'gpt-2' : 'default' });
  kv.set('tokenizer.ggml.tokens', { type: 'string[]', value: tokens });
  kv.set('tokenizer.ggml.token_type', { type: 'i32[]', value: types });
  kv.set('tokenizer.ggml.merges', { type: 'string[]', value: (tj.model.merges ?? []).map((m) => (Array.isArray(m) ? m.join(' ') : m)) });
  const eos = Array.isArray(cfg.eosTokenId) ? cfg.eosTokenId[0] : cfg.eosTokenId;
  if (cfg.bosTokenId !== null) kv.set('tokenizer.ggml.bos_token_id', { type: 'u32', value: cfg.bosTokenId });
  if (eos !== null && eos !== undefined) kv.set('tokenizer.ggml.eos_token_id', { type: 'u32', value: eos });
  return kv;
}

function hyperparameters(arch: string, cfg: DecoderConfig): [string, GgufValue][] {
  const u32 = (value: number): GgufValue => ({ type: 'u32', value });
  const f32 = (value: number): GgufValue => ({ type: 'f32', value });
  const common: [string, GgufValue][] = [
    [`${arch}.context_length`, u32(cfg.maxPositions)],
    [`${arch}.embedding_length`, u32(cfg.hiddenSize)],
    [`${arch}.block_count`, u32(cfg.numLayers)],
    [`${arch}.attention.head_count`, u32(cfg.numHeads)],
  ];
  if (arch === 'gpt2') {
    const g = cfg as Gpt2Config;
    return [...common, [`${arch}.feed_forward_length`, u32(g.intermediateSize)], [`${arch}.attention.layer_norm_epsilon`, f32(g.layerNormEpsilon)]];
  }
  const l = cfg as LlamaConfig;
  if (l.ropeScaling.type === 'llama3') {
    throw new UserError('--export_format gguf: Llama 3 rope_scaling (frequency bands) is not supported in GGUF export yet; use onnx or safetensors');
  }
  const kv: [string, GgufValue][] = [
    ...common,
    [`${arch}.feed_forward_length`, u32(l.intermediateSize)],
    [`${arch}.attention.head_count_kv`, u32(l.numKvHeads)],
    [`${arch}.attention.layer_norm_rms_epsilon`, f32(l.rmsNormEps)],
    [`${arch}.rope.freq_base`, f32(l.ropeTheta)],
    [`${arch}.rope.dimension_count`, u32(l.headDim)],
    [`${arch}.vocab_size`, u32(l.vocabSize)],
  ];
  if (l.headDim * l.numHeads !== l.hiddenSize) kv.push([`${arch}.attention.key_length`, u32(l.headDim)], [`${arch}.attention.value_length`, u32(l.headDim)]);
  if (l.ropeScaling.type === 'linear') kv.push([`${arch}.rope.scaling.type`, { type: 'string', value: 'linear' }], [`${arch}.rope.scaling.factor`, f32(l.ropeScaling.factor)]);
  return kv;
}

/** The GGUF tensors of a model, in model order, head included. */
export function ggufTensors(src: GgufSource, params: { name: string }[]): GgufTensor[] {
  const arch = ggufArch(src.cfg);
  const permute = arch === 'llama';
  const out: GgufTensor[] = [];
  for (const { name } of params) {
    const t = src.weights.get(name)!;
    let order: Int32Array | null = null;
    if (permute && /self_attn\.q_proj\./.test(name)) order = ropeRowOrder(src.cfg.numHeads, src.cfg.headDim);
    if (permute && /self_attn\.k_proj\./.test(name)) order = ropeRowOrder(src.cfg.numKvHeads, src.cfg.headDim);
    const q = src.quantized.get(name);
    const ggufName = ggufTensorName(arch, name);
    if (q) {
      out.push({ name: ggufName, shape: [q.n, q.k], type: q.bits === 8 ? 'Q8_0' : 'Q4_0', data: toGgufBlocks(q, order ?? undefined) });
      continue;
    }
    const oriented = isInOutLayout(name) ? transposed(t) : t;
    const type: GgmlType = src.half && oriented.shape.length === 2 ? 'F16' : 'F32';
    out.push({ name: ggufName, shape: oriented.shape, type, data: floatBytes(rowsOf(oriented, order), type) });
  }
  // GPT-2 ties its head to the token embeddings; llama.cpp's gpt2 graph reads output.weight.
  if (arch === 'gpt2' && src.cfg.tieWordEmbeddings) {
    const embd = out.find((t) => t.name === 'token_embd.weight')!;
    out.push({ ...embd, name: 'output.weight' });
  }
  return out;
}

/** Writes `file`; returns the tensor count and the file type. */
export function exportGguf(file: string, src: GgufSource, params: { name: string }[]): { tensors: number; fileType: number } {
  const arch = ggufArch(src.cfg);
  const tensors = ggufTensors(src, params);
  const bits = new Set([...src.quantized.values()].map((q) => q.bits));
  const fileType = bits.has(4) ? 2 : bits.has(8) ? 7 : src.half ? 1 : 0; // LLAMA_FTYPE_MOSTLY_Q4_0 / Q8_0 / F16 / ALL_F32
  const metadata = new Map<string, GgufValue>([
    ['general.architecture', { type: 'string', value: arch }],
    ['general.name', { type: 'string', value: src.name }],
    ['general.file_type', { type: 'u32', value: fileType }],
    ...hyperparameters(arch, src.cfg),
    ...tokenizerMetadata(src.dir, src.cfg, arch),
  ]);
  writeGguf(file, metadata, tensors);
  return { tensors: tensors.length, fileType };
}

