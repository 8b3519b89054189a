/**
 * Per-layer lists in configs, whatever the family: transformers' `layer_types`
 * (full_attention / sliding_attention, which PreTrainedConfig checks against the depth in every
 * family) and lists like it (gpt_neo's attention_types, smollm3's no_rope_layers). Reading a
 * list into per-layer windows, and carrying a list to another depth for the reinitializer.
 */
import { UserError } from '../core/tool.js';

/** Each layer's sliding window from a layer_types list: `window` for sliding_attention, null for full_attention. */
export function layerWindows(types: readonly unknown[], window: unknown, numLayers: number, where: string): (number | null)[] {
  if (types.length !== numLayers) throw new UserError(`${where}: "layer_types" has ${types.length} entries for ${numLayers} layers`);
  return types.map((t) => {
    if (t !== 'full_attention' && t !== 'sliding_attention') {
      throw new UserError(`${where}: layer type "${String(t)}" is not supported; use full_attention or sliding_attention`);
    }
    return t === 'sliding_attention' ? slidingWindowOf(window, where) : null;
  });
}

/** config.json's sliding_window, which a sliding layer needs. */
export function slidingWindowOf(window: unknown, where: string): number {
  if (typeof window !== 'number' || !Number.isInteger(window) || window <= 0) {
    throw new UserError(`${where}: sliding attention needs "sliding_window" as a positive integer, got ${JSON.stringify(window)}`);
  }
  return window;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The shortest unit that `list` repeats from its first layer (the whole list when none is shorter). */
export function repeatingUnit<T>(list: readonly T[]): T[] {
  let p = 1;
  while (p < list.length && !list.every((x, i) => same(x, list[i % p]))) p++;
  return list.slice(0, p);
}

/** A per-layer list continued to `n` layers: its repeating unit repeated, or cut. */
export function continuePattern<T>(list: readonly T[], n: number): T[] {
  const unit = repeatingUnit(list);
  return unit.length === 0 ? [] : Array.from({ length: n }, (_, i) => unit[i % unit.length]);
}

/**
 * A per-layer list of a model `from` layers deep, for one `to` layers deep. A list that is what
 * the config class derives from the config's other keys (`derive(from)`: Gemma 3's 5:1 pattern,
 * Qwen2's sliding layers from max_window_layers on) becomes that derivation at the new depth, as
 * transformers would write it; a list of the user's own continues its own pattern.
 */
export function resizeLayerList<T>(list: readonly T[], from: number, to: number, derive: (n: number) => T[]): T[] {
  return same(list, derive(from)) ? derive(to) : continuePattern(list, to);
}
