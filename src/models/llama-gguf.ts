/**
 * The LLaMA family in llama.cpp's GGUF (as convert_hf_to_gguf.py writes it): tensor names,
 * hyperparameters, the q/k row order of llama.cpp's NORM rope, and the one-line refusals of what
 * its graphs cannot run. Used by llama.ts and the variants built on it.
 */
import { UserError } from '../core/tool.js';
import type { GgufValue } from '../export/gguf-format.js';
import type { GgufSpec } from './architecture.js';
import type { LlamaConfig, LlamaFamilyDefaults } from './llama.js';

/** Row order that turns rotate-half q/k rows into the interleaved pairs of llama.cpp's NORM rope (per head: row s·D/2 + j → row 2j + s). */
export function ropeRowOrder(heads: number, headDim: number): Int32Array {
  const order = new Int32Array(heads * headDim);
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) for (let j = 0; j < half; j++) for (let s = 0; s < 2; s++) order[h * headDim + 2 * j + s] = h * headDim + s * half + j;
  return order;
}

/** LLaMA-layout tensor names in GGUF (llama, mistral, qwen2 share them). */
export const LLAMA_GGUF_NAMES: readonly [RegExp, string][] = [
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

/** q_norm/k_norm in GGUF (qwen3 per head, olmo2 over the projection: the same names). */
export const QK_NORM_GGUF_NAMES: readonly [RegExp, string][] = [
  [/^model\.layers\.(\d+)\.self_attn\.q_norm\.weight$/, 'blk.$1.attn_q_norm.weight'],
  [/^model\.layers\.(\d+)\.self_attn\.k_norm\.weight$/, 'blk.$1.attn_k_norm.weight'],
];

/** For llama.cpp graphs without sliding windows or attention biases: a UserError naming what the config asks for. */
export function requirePlainAttention(cfg: LlamaConfig, arch: string): void {
  if (cfg.slidingWindows.some((w) => w !== null)) {
    throw new UserError(`--export_format gguf: llama.cpp's ${arch} has no sliding-window attention (this config slides); use onnx or safetensors`);
  }
  if (cfg.qkvBias || cfg.oBias) {
    throw new UserError(`--export_format gguf: llama.cpp's ${arch} has no attention biases (attention_bias is true); use onnx or safetensors`);
  }
}

/** GGUF hyperparameters of a LLaMA-layout config (keys after the arch prefix). */
export function llamaGgufHyperparameters(l: LlamaConfig): [string, GgufValue][] {
  const u32 = (value: number): GgufValue => ({ type: 'u32', value });
  const f32 = (value: number): GgufValue => ({ type: 'f32', value });
  if (l.ropeScaling.type === 'llama3') {
    throw new UserError('--export_format gguf: Llama 3 rope_scaling (frequency bands) is not supported in GGUF export yet; use onnx or safetensors');
  }
  const kv: [string, GgufValue][] = [
    ['feed_forward_length', u32(l.intermediateSize)],
    ['attention.head_count_kv', u32(l.numKvHeads)],
    ['attention.layer_norm_rms_epsilon', f32(l.rmsNormEps)],
    ['rope.freq_base', f32(l.ropeTheta)],
    ['rope.dimension_count', u32(l.headDim)],
    ['vocab_size', u32(l.vocabSize)],
  ];
  if (l.headDim * l.numHeads !== l.hiddenSize) kv.push(['attention.key_length', u32(l.headDim)], ['attention.value_length', u32(l.headDim)]);
  if (l.ropeScaling.type === 'linear') kv.push(['rope.scaling.type', { type: 'string', value: 'linear' }], ['rope.scaling.factor', f32(l.ropeScaling.factor)]);
  return kv;
}

/**
 * llama.cpp's llama and qwen2 graphs attend to the whole context: a model with sliding windows
 * is the same model there only up to its smallest window, so that is the context it states.
 */
export function windowedContext(cfg: LlamaConfig): number {
  return Math.min(cfg.maxPositions, ...cfg.slidingWindows.map((w) => w ?? Infinity));
}

/** llama.cpp's description of a LLaMA-family model_type; variants override names and hyperparameters. */
export function llamaGgufSpec(defaults: LlamaFamilyDefaults): GgufSpec<LlamaConfig> {
  const { arch, permuteQK } = defaults.gguf;
  return {
    arch,
    tokenizerPre: 'default',
    tensorNames: LLAMA_GGUF_NAMES,
    hyperparameters: llamaGgufHyperparameters,
    contextLength: windowedContext,
    rowOrder: (p, cfg) => {
      if (!permuteQK) return null;
      if (/self_attn\.q_proj\./.test(p.name)) return ropeRowOrder(cfg.numHeads, cfg.headDim);
      if (/self_attn\.k_proj\./.test(p.name)) return ropeRowOrder(cfg.numKvHeads, cfg.headDim);
      return null;
    },
  };
}
