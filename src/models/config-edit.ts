/**
 * A config.json with other sizes, or for another architecture: what the reinitializer makes
 * a new model from. Keeping the same model_type edits the original config under its own key
 * names (n_layer for gpt2, num_hidden_layers for the LLaMA family), so everything else in it
 * survives; switching model_type writes a fresh config for the target with the sizes carried
 * over (vocabulary, width, depth, heads, positions, special token ids).
 */
import { UserError } from '../core/tool.js';
import type { Architecture, DecoderConfig } from './architecture.js';
import { architectureFor, resolveArchitecture } from './index.js';
import { continuePattern } from './layer-types.js';

/** Flags that change the shape; undefined/null keeps the current value. */
export interface ConfigOverrides {
  modelType?: string | null;
  numLayers?: number | null;
  hiddenSize?: number | null;
  numHeads?: number | null;
  numKvHeads?: number | null;
  intermediateSize?: number | null;
}

/** A fresh config.json for `arch` carrying over the sizes and token ids of `cur`. */
function freshConfig(arch: Architecture, cur: DecoderConfig): Record<string, unknown> {
  const { keys, intermediateFor, freshConfig: extras } = arch.reshape;
  const out: Record<string, unknown> = {
    model_type: arch.modelType,
    architectures: [arch.hfClass],
    vocab_size: cur.vocabSize,
    initializer_range: cur.initializerRange,
    bos_token_id: cur.bosTokenId,
    eos_token_id: cur.eosTokenId,
    tie_word_embeddings: cur.tieWordEmbeddings,
    ...extras(cur),
    [keys.layers]: cur.numLayers,
    [keys.hidden]: cur.hiddenSize,
    [keys.heads]: cur.numHeads,
    [keys.positions]: cur.maxPositions,
  };
  if (keys.kvHeads !== null) out[keys.kvHeads] = cur.numKvHeads;
  const inner = intermediateFor(cur.hiddenSize);
  if (inner !== null) out[keys.inner] = inner;
  return out;
}

/** The new config.json; a UserError names the flag whose value cannot work. */
export function reshapeConfig(raw: Record<string, unknown>, overrides: ConfigOverrides): Record<string, unknown> {
  const { cfg: cur } = resolveArchitecture(raw);
  const modelType = overrides.modelType ?? cur.modelType;
  const arch = architectureFor({ model_type: modelType });
  const keys = arch.reshape.keys;
  const out = modelType === cur.modelType ? { ...raw } : freshConfig(arch, cur);
  delete out.torch_dtype;

  const hidden = overrides.hiddenSize ?? cur.hiddenSize;
  const heads = overrides.numHeads ?? cur.numHeads;
  const kvHeads = overrides.numKvHeads ?? (overrides.numHeads != null && cur.numKvHeads === cur.numHeads ? heads : cur.numKvHeads);
  if (hidden % heads !== 0) throw new UserError(`--hidden_size ${hidden} is not divisible by --num_heads ${heads}; pick sizes where it is`);
  if (keys.kvHeads === null && overrides.numKvHeads != null && overrides.numKvHeads !== heads) {
    throw new UserError(`--num_kv_heads: ${modelType} has no grouped-query attention (key/value heads = heads = ${heads}); use a model_type that has`);
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
    out[keys.inner] = arch.reshape.intermediateFor(hidden);
  }
  // An explicit head_dim no longer fits once the width or head count changes; it follows them,
  // written rather than dropped, since some families (Gemma) default it to a constant.
  if (overrides.hiddenSize != null || overrides.numHeads != null) {
    if ('head_dim' in out) out.head_dim = hidden / heads;
    for (const k of arch.reshape.headDimKeys ?? []) if (out[k] === cur.headDim) out[k] = hidden / heads;
  }
  // Per-layer lists and width-tied sizes follow the new shape (the family knows which it has).
  const to = { numLayers: overrides.numLayers ?? cur.numLayers, hiddenSize: hidden, numHeads: heads, numKvHeads: keys.kvHeads === null ? heads : kvHeads };
  arch.reshape.resized?.(out, cur, to);
  // transformers checks layer_types against the depth in every family (PreTrainedConfig.validate_layer_type),
  // also where the model ignores it: a list no family re-derived continues its pattern.
  if (Array.isArray(out.layer_types) && out.layer_types.length !== to.numLayers) out.layer_types = continuePattern(out.layer_types, to.numLayers);
  resolveArchitecture(out); // the result must be a config we can build
  return out;
}
