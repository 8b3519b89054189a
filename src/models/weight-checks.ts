/**
 * Checks on a checkpoint's weights that no architecture needs to know about: config sizes that
 * the weights cannot back (a hand-edited or hostile config.json), and values that are not finite.
 * Both run on every model load, before anything is built from the config.
 */
import os from 'node:os';
import { UserError } from '../core/tool.js';
import type { DecoderConfig } from './architecture.js';
import type { RawTensor } from './safetensors.js';
import type { Weights } from './tensor.js';

/**
 * Hugging Face config keys that count layers, and keys that are widths, head counts or the
 * vocabulary: each layer has at least one tensor, and every such number is at most the count of
 * all stored values (the token embedding alone is vocab × hidden). Position counts, windows and
 * token ids may exceed them and are not checked.
 */
const LAYER_KEYS = /^(n_layers?|num_(hidden_)?layers)$/;
const SIZE_KEYS = /^(n_embd|n_inner|n_head|hidden_size|intermediate_size|ffn_dim|num_attention_heads|num_key_value_heads|num_heads|head_dim|vocab_size|d_model)$/;

/**
 * Refuses, in one line naming the key, a config.json whose sizes the stored weights cannot back
 * (`n_layer: 1e9` over a few megabytes), before any per-layer list or tensor is made from it.
 */
export function checkConfigSizes(dir: string, config: Record<string, unknown>, weights: Weights, raw: Map<string, RawTensor>): void {
  const tensors = weights.size + raw.size;
  let values = 0;
  for (const t of weights.values()) values += t.data.length;
  for (const t of raw.values()) values += t.shape.reduce((a, b) => a * b, 1);
  for (const [key, value] of Object.entries(config)) {
    if (typeof value !== 'number') continue;
    const limit = LAYER_KEYS.test(key) ? tensors : SIZE_KEYS.test(key) ? values : null;
    if (limit === null) continue;
    if (!Number.isSafeInteger(value) || value < 0 || value > limit) {
      const what = LAYER_KEYS.test(key) ? `${tensors} tensors` : `${values} values in all`;
      throw new UserError(`${dir}/config.json: ${key} is ${value}, but the weights hold ${what}; the config does not belong to these weights`);
    }
  }
}

/** The first tensor (in file order) holding NaN or ±Infinity, with the index and value found. */
export function firstNonFinite(weights: Weights): { name: string; index: number; value: number } | null {
  for (const [name, t] of weights) {
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      // x - x is 0 for every finite x and NaN for NaN and ±Infinity.
      if (d[i] - d[i] !== 0) return { name, index: i, value: d[i] };
    }
  }
  return null;
}

/** Refuses weights with a NaN or an infinity, naming the tensor; `override` is the flag that loads them anyway. */
export function checkFinite(dir: string, weights: Weights, override: string): void {
  const bad = firstNonFinite(weights);
  if (bad) {
    throw new UserError(`${dir}: tensor ${bad.name} holds ${bad.value} (at index ${bad.index}); the weights are damaged — re-download or re-export them, or pass ${override} to load them anyway`);
  }
}

/**
 * Refuses a model that cannot fit in memory before its parameters are listed or drawn (a
 * config made, not read with weights: the reinitializer's). Every layer holds at least the
 * query and output projections (2 × hidden² floats), the embedding vocab × hidden: a lower
 * bound that holds for every family.
 */
export function checkFitsInMemory(cfg: DecoderConfig, totalBytes = os.totalmem()): void {
  const floats = cfg.vocabSize * cfg.hiddenSize + cfg.numLayers * 2 * cfg.hiddenSize * cfg.hiddenSize;
  const bytes = 4 * floats;
  if (!(bytes <= totalBytes)) {
    const gb = (n: number) => `${(n / 2 ** 30).toPrecision(3)} GiB`;
    throw new UserError(`a ${cfg.modelType} of ${cfg.numLayers} layers × ${cfg.hiddenSize} wide (vocabulary ${cfg.vocabSize}) needs at least ${gb(bytes)} for its weights, more than this machine's ${gb(totalBytes)}; choose smaller sizes`);
  }
}
