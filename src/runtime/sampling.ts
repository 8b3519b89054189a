/**
 * Picking the next token from a row of logits, the way Hugging Face `generate` does it:
 * repetition penalty → temperature → top-k → top-p → draw (or argmax when not sampling).
 */

export interface SamplingOptions {
  /** false = greedy (argmax); temperature/top_k/top_p are then ignored. */
  doSample: boolean;
  /** > 0; divides the logits. */
  temperature: number;
  /** Keep the k most likely tokens; 0 disables. */
  topK: number;
  /** Keep the smallest set whose probability mass reaches p; 1 disables. In (0, 1]. */
  topP: number;
  /** CTRL-style penalty (> 1 discourages tokens already seen); 1 disables. */
  repetitionPenalty: number;
}

/** Index of the largest value (the first one on ties, like torch.argmax). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * Applies the repetition penalty in place, as transformers' RepetitionPenaltyLogitsProcessor:
 * a seen token's logit is divided by the penalty when positive, multiplied when negative.
 */
export function applyRepetitionPenalty(logits: Float32Array, seen: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of new Set(seen)) {
    const l = logits[id];
    logits[id] = l > 0 ? l / penalty : l * penalty;
  }
}

/**
 * Indices of the k largest values, largest first (lower index first on ties, like a stable
 * sort). Small k scans once keeping a sorted buffer; sorting all 50k logits with a comparator
 * would cost ~14 ms per token on this machine, more than the decode step itself.
 */
export function topIndices(values: ArrayLike<number>, k: number): Int32Array {
  const n = values.length;
  k = Math.min(k, n);
  if (k > 512) {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[b] - values[a] || a - b);
    return Int32Array.from(order.slice(0, k));
  }
  const best = new Int32Array(k);
  let size = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (size === k && v <= values[best[k - 1]]) continue;
    let j = size < k ? size++ : k - 1;
    while (j > 0 && values[best[j - 1]] < v) { best[j] = best[j - 1]; j--; }
    best[j] = i;
  }
  return best;
}

/**
 * The probability distribution left after temperature, top-k and top-p, as parallel arrays of
 * token ids and (normalised) probabilities, most likely first. Top-p is applied to the
 * top-k-filtered distribution, as transformers chains its warpers.
 */
export function filteredDistribution(
  logits: Float32Array,
  opts: Pick<SamplingOptions, 'temperature' | 'topK' | 'topP'>,
): { ids: Int32Array; probs: Float64Array } {
  const n = logits.length;
  const k = opts.topK > 0 ? Math.min(opts.topK, n) : n;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  const weight = (id: number) => Math.exp((logits[id] - max) / opts.temperature);
  let kept: Int32Array;
  if (opts.topP >= 1) {
    kept = topIndices(logits, k);
  } else {
    // Mass of the top-k set; then grow a candidate prefix until it holds p of that mass, so
    // a peaked distribution never sorts the whole vocabulary.
    let total = 0;
    if (k === n) for (let i = 0; i < n; i++) total += weight(i);
    else for (const id of topIndices(logits, k)) total += weight(id);
    for (let c = Math.min(64, k); ; c = Math.min(c * 4, k)) {
      const candidates = topIndices(logits, c);
      let mass = 0;
      let cut = candidates.length;
      // Keep tokens while the mass before them is below p: the most likely always survives.
      for (let i = 0; i < candidates.length; i++) {
        if (mass >= opts.topP * total) { cut = i; break; }
        mass += weight(candidates[i]);
      }
      if (cut < candidates.length || c === k) { kept = candidates.subarray(0, cut); break; }
    }
  }
  const probs = new Float64Array(kept.length);
  let keptMass = 0;
  for (let i = 0; i < kept.length; i++) keptMass += probs[i] = weight(kept[i]);
  for (let i = 0; i < kept.length; i++) probs[i] /= keptMass;
  return { ids: kept, probs };
}

/**
 * The next token id. `seen` are the ids so far (prompt included) for the repetition penalty;
 * `uniform` is a seeded source of numbers in [0, 1). `logits` is modified in place.
 */
export function sampleToken(
  logits: Float32Array,
  opts: SamplingOptions,
  seen: Iterable<number>,
  uniform: () => number,
): number {
  applyRepetitionPenalty(logits, seen, opts.repetitionPenalty);
  if (!opts.doSample) return argmax(logits);
  const { ids, probs } = filteredDistribution(logits, opts);
  let u = uniform();
  for (let i = 0; i < ids.length; i++) {
    u -= probs[i];
    if (u < 0) return ids[i];
  }
  return ids[ids.length - 1];
}
