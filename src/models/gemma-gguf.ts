/**
 * Every Gemma generation in llama.cpp's GGUF (as convert_hf_to_gguf.py writes it): tensor names
 * (the sandwich norms' too), the hyperparameters they share and the one-line refusals of what
 * llama.cpp's Gemma graphs cannot run. Used by gemma.ts, gemma2.ts and gemma3_text.ts.
 */
import { UserError } from '../core/tool.js';
import type { GgufValue } from '../export/gguf-format.js';
import type { GgufSpec } from './architecture.js';
import type { GemmaConfig } from './gemma.js';

/**
 * GGUF tensor names of every Gemma generation. Gemma's norm before the MLP is `ffn_norm`; with
 * the sandwich norms (Gemma 2/3) post_attention_layernorm is `post_attention_norm`, the norm
 * before the MLP `ffn_norm` and the one after it `post_ffw_norm`.
 */
export function gemmaGgufNames(sandwich: boolean): [RegExp, string][] {
  return [
    [/^model\.embed_tokens\.weight$/, 'token_embd.weight'],
    [/^model\.layers\.(\d+)\.input_layernorm\.weight$/, 'blk.$1.attn_norm.weight'],
    [/^model\.layers\.(\d+)\.self_attn\.q_proj\.(weight|bias)$/, 'blk.$1.attn_q.$2'],
    [/^model\.layers\.(\d+)\.self_attn\.k_proj\.(weight|bias)$/, 'blk.$1.attn_k.$2'],
    [/^model\.layers\.(\d+)\.self_attn\.v_proj\.(weight|bias)$/, 'blk.$1.attn_v.$2'],
    [/^model\.layers\.(\d+)\.self_attn\.o_proj\.(weight|bias)$/, 'blk.$1.attn_output.$2'],
    [/^model\.layers\.(\d+)\.self_attn\.q_norm\.weight$/, 'blk.$1.attn_q_norm.weight'],
    [/^model\.layers\.(\d+)\.self_attn\.k_norm\.weight$/, 'blk.$1.attn_k_norm.weight'],
    [/^model\.layers\.(\d+)\.post_attention_layernorm\.weight$/, sandwich ? 'blk.$1.post_attention_norm.weight' : 'blk.$1.ffn_norm.weight'],
    [/^model\.layers\.(\d+)\.pre_feedforward_layernorm\.weight$/, 'blk.$1.ffn_norm.weight'],
    [/^model\.layers\.(\d+)\.post_feedforward_layernorm\.weight$/, 'blk.$1.post_ffw_norm.weight'],
    [/^model\.layers\.(\d+)\.mlp\.gate_proj\.weight$/, 'blk.$1.ffn_gate.weight'],
    [/^model\.layers\.(\d+)\.mlp\.up_proj\.weight$/, 'blk.$1.ffn_up.weight'],
    [/^model\.layers\.(\d+)\.mlp\.down_proj\.weight$/, 'blk.$1.ffn_down.weight'],
    [/^model\.norm\.weight$/, 'output_norm.weight'],
    [/^lm_head\.weight$/, 'output.weight'],
  ];
}

export const u32 = (value: number): GgufValue => ({ type: 'u32', value });
export const f32 = (value: number): GgufValue => ({ type: 'f32', value });

/**
 * The hyperparameters every Gemma GGUF has (as convert_hf_to_gguf.py writes them), after the
 * checks for what llama.cpp's Gemma graphs cannot run: biases, exact GELU, Llama 3 rope, and an
 * untied head where the converter drops lm_head.weight (Gemma, Gemma 2).
 */
export function gemmaGgufBase(cfg: GemmaConfig, opts: { untiedHead: boolean }): [string, GgufValue][] {
  const no = (what: string) => new UserError(`--export_format gguf: llama.cpp's ${cfg.modelType} graph has no ${what}; use onnx or safetensors`);
  if (cfg.attentionBias) throw no('attention biases (attention_bias)');
  if (cfg.geluApproximate !== 'tanh') throw no('exact GELU (it uses the tanh approximation)');
  if (!cfg.tieWordEmbeddings && !opts.untiedHead) throw no('separate output head (tie_word_embeddings false)');
  const rope = cfg.ropeFull;
  if (rope.ropeScaling.type === 'llama3') throw no('Llama 3 rope scaling');
  const kv: [string, GgufValue][] = [
    ['feed_forward_length', u32(cfg.intermediateSize)],
    ['attention.head_count_kv', u32(cfg.numKvHeads)],
    ['attention.layer_norm_rms_epsilon', f32(cfg.rmsNormEps)],
    ['attention.key_length', u32(cfg.headDim)],
    ['attention.value_length', u32(cfg.headDim)],
    ['rope.freq_base', f32(rope.ropeTheta)],
  ];
  if (rope.ropeScaling.type === 'linear') kv.push(['rope.scaling.type', { type: 'string', value: 'linear' }], ['rope.scaling.factor', f32(rope.ropeScaling.factor)]);
  return kv;
}

/**
 * llama.cpp's Gemma 2/3 graphs take the attention scale from the layer count, not from
 * query_pre_attn_scalar: head_dim, except the 27B models (hidden/heads). A config where that
 * differs would run as another model.
 */
export function checkGgufAttentionScale(cfg: GemmaConfig, layers27b: number): void {
  const llamaCpp = cfg.numLayers === layers27b ? Math.floor(cfg.hiddenSize / cfg.numHeads) : cfg.headDim;
  if (cfg.queryPreAttnScalar !== llamaCpp) {
    throw new UserError(
      `--export_format gguf: llama.cpp scales ${cfg.modelType} attention by ${llamaCpp}^-1/2, this config by query_pre_attn_scalar ${cfg.queryPreAttnScalar}^-1/2; use onnx or safetensors`,
    );
  }
}

/**
 * llama.cpp's description of one Gemma generation: `sandwich` for the norms after attention and
 * MLP (Gemma 2/3), `hyperparameters` its own keys and refusals.
 */
export function gemmaGgufSpec(arch: string, sandwich: boolean, hyperparameters: (cfg: GemmaConfig) => [string, GgufValue][]): GgufSpec<GemmaConfig> {
  return {
    arch,
    tokenizerPre: 'default',
    tensorNames: gemmaGgufNames(sandwich),
    hyperparameters,
    // NEOX rope (rotate-half, as Hugging Face): q/k rows stay as they are. The converter adds 1 to
    // every norm's γ, since llama.cpp multiplies by the stored scale.
    rowOrder: () => null,
    valueShift: (p) => (p.role === 'norm' ? 1 : 0),
  };
}
