/**
 * A config.json with other sizes, or for another architecture: what the reinitializer makes
 * a new model from. Keeping the same model_type edits the original config under its own key
 * names (n_layer for gpt2, num_hidden_layers for the LLaMA family), so everything else in it
 * survives; switching model_type writes a fresh config for the target with the sizes carried
 * over (vocabulary, width, depth, heads, positions, special token ids).
 */
import { UserError } from '../core/tool.js';
import type { DecoderConfig } from './architecture.js';
import { resolveArchitecture } from './index.js';

/** Flags that change the shape; undefined/null keeps the current value. */
export interface ConfigOverrides {
  modelType?: string | null;
  numLayers?: number | null;
  hiddenSize?: number | null;
  numHeads?: number | null;
  numKvHeads?: number | null;
  intermediateSize?: number | null;
}

/** config.json key names per family. */
const KEYS = {
  gpt2: { layers: 'n_layer', hidden: 'n_embd', heads: 'n_head', kvHeads: null, inner: 'n_inner', positions: 'n_positions' },
  llama: { layers: 'num_hidden_layers', hidden: 'hidden_size', heads: 'num_attention_heads', kvHeads: 'num_key_value_heads', inner: 'intermediate_size', positions: 'max_position_embeddings' },
} as const;

const ARCHITECTURE_CLASS: Record<string, string> = {
  gpt2: 'GPT2LMHeadModel',
  llama: 'LlamaForCausalLM',
  mistral: 'MistralForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
};

function family(modelType: string) {
  return modelType === 'gpt2' ? KEYS.gpt2 : KEYS.llama;
}

/** The MLP width a fresh config of `modelType` gets for width `hidden` when none is given. */
function defaultIntermediate(modelType: string, hidden: number): number {
  if (modelType === 'gpt2') return 4 * hidden;
  // LLaMA's rule: 2/3 of 4h, rounded up to a multiple of 256 (11008 for 4096).
  return Math.ceil((8 * hidden) / 3 / 256) * 256;
}

function freshConfig(modelType: string, cur: DecoderConfig): Record<string, unknown> {
  const base = {
    model_type: modelType,
    architectures: [ARCHITECTURE_CLASS[modelType]],
    vocab_size: cur.vocabSize,
    initializer_range: cur.initializerRange,
    bos_token_id: cur.bosTokenId,
    eos_token_id: cur.eosTokenId,
    tie_word_embeddings: cur.tieWordEmbeddings,
  };
  if (modelType === 'gpt2') {
    return { ...base, n_positions: cur.maxPositions, n_embd: cur.hiddenSize, n_layer: cur.numLayers, n_head: cur.numHeads, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5 };
  }
  return {
    ...base,
    hidden_size: cur.hiddenSize,
    intermediate_size: defaultIntermediate(modelType, cur.hiddenSize),
    num_hidden_layers: cur.numLayers,
    num_attention_heads: cur.numHeads,
    num_key_value_heads: cur.numKvHeads,
    max_position_embeddings: cur.maxPositions,
    hidden_act: 'silu',
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    attention_bias: false,
  };
}

/** The new config.json; a UserError names the flag whose value cannot work. */
export function reshapeConfig(raw: Record<string, unknown>, overrides: ConfigOverrides): Record<string, unknown> {
  const { cfg: cur } = resolveArchitecture(raw);
  const modelType = overrides.modelType ?? cur.modelType;
  const keys = family(modelType);
  const out = modelType === cur.modelType ? { ...raw } : freshConfig(modelType, cur);
  delete out.torch_dtype;

  const hidden = overrides.hiddenSize ?? cur.hiddenSize;
  const heads = overrides.numHeads ?? cur.numHeads;
  const kvHeads = overrides.numKvHeads ?? (overrides.numHeads != null && cur.numKvHeads === cur.numHeads ? heads : cur.numKvHeads);
  if (hidden % heads !== 0) throw new UserError(`--hidden_size ${hidden} is not divisible by --num_heads ${heads}; pick sizes where it is`);
  if (keys.kvHeads === null && overrides.numKvHeads != null && overrides.numKvHeads !== heads) {
    throw new UserError(`--num_kv_heads: gpt2 has no grouped-query attention (key/value heads = heads = ${heads}); use a llama model_type`);
  }
  if (keys.kvHeads !== null && heads % kvHeads !== 0) {
    throw new UserError(`--num_heads ${heads} is not divisible by --num_kv_heads ${kvHeads}; key/value heads must divide the heads`);
  }
  if (overrides.numLayers != null) out[keys.layers] = overrides.numLayers;
  out[keys.hidden] = hidden;
  out[keys.heads] = heads;
  if (keys.kvHeads !== null) out[keys.kvHeads] = kvHeads;
  if (overrides.intermediateSize != null) out[keys.inner] = overrides.intermediateSize;
  else if (overrides.hiddenSize != null && overrides.hiddenSize !== cur.hiddenSize) {
    out[keys.inner] = modelType === 'gpt2' ? null : defaultIntermediate(modelType, hidden);
  }
  // An explicit head_dim no longer fits once the width or head count changes.
  if ((overrides.hiddenSize != null || overrides.numHeads != null) && 'head_dim' in out) delete out.head_dim;
  resolveArchitecture(out); // the result must be a config we can build
  return out;
}
