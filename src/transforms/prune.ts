/**
 * L1 unstructured magnitude pruning, per tensor, as torch.nn.utils.prune.l1_unstructured
 * does it: in each chosen tensor exactly round(amount · numel) entries with the smallest |w|
 * become 0 (ties at the threshold broken by position). Linear time: a selection, not a sort.
 */
import type { ParamSpec } from '../models/architecture.js';
import type { Tensor, Weights } from '../models/tensor.js';

export interface PruneResult {
  /** The new weights: pruned tensors copied, the rest shared with the input. */
  weights: Weights;
  /** Zeros in the pruned tensors over their size (zeros already there count too). */
  sparsity: number;
  /** Entries this pruning set to zero. */
  zeroed: number;
  /** Elements in the pruned tensors. */
  elements: number;
}

/** The k-th smallest value (0-based) of `a`, which is reordered in place (Hoare quickselect). */
export function kthSmallest(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i]; a[i] = a[j]; a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/** Zeros the `count` smallest-magnitude entries of a copy of `t`. */
export function pruneTensor(t: Tensor, count: number): Tensor {
  const data = Float32Array.from(t.data);
  if (count <= 0) return { shape: t.shape, data };
  if (count >= data.length) return { shape: t.shape, data: new Float32Array(data.length) };
  const mags = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) mags[i] = Math.abs(data[i]);
  const threshold = kthSmallest(mags, count - 1);
  let below = 0;
  for (let i = 0; i < data.length; i++) if (Math.abs(data[i]) < threshold) below++;
  // Everything under the threshold goes, then entries equal to it until `count` are gone.
  let ties = count - below;
  for (let i = 0; i < data.length; i++) {
    const m = Math.abs(data[i]);
    if (m < threshold) data[i] = 0;
    else if (m === threshold && ties > 0) {
      data[i] = 0;
      ties--;
    }
  }
  return { shape: t.shape, data };
}

/** Prunes `amount` (0..1) of each tensor in `targets`. */
export function pruneWeights(weights: Weights, targets: readonly ParamSpec[], amount: number, signal?: AbortSignal): PruneResult {
  const out: Weights = new Map(weights);
  let zeros = 0;
  let zeroed = 0;
  let elements = 0;
  for (const p of targets) {
    signal?.throwIfAborted();
    const t = weights.get(p.name)!;
    let before = 0;
    for (let i = 0; i < t.data.length; i++) if (t.data[i] === 0) before++;
    const pruned = pruneTensor(t, Math.round(amount * t.data.length));
    let after = 0;
    for (let i = 0; i < pruned.data.length; i++) if (pruned.data[i] === 0) after++;
    out.set(p.name, pruned);
    zeros += after;
    zeroed += after - before;
    elements += t.data.length;
  }
  return { weights: out, sparsity: elements ? zeros / elements : 0, zeroed, elements };
}
