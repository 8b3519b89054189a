/**
 * AdamW in PyTorch's form (torch.optim.AdamW, the update Hugging Face's Trainer uses), on
 * float32 arrays in place:
 *   p ← p − lr·wd·p;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   p ← p − lr·(m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
 * The gradient arrives unscaled with a factor (1/grad_accum × the clipping coefficient), so
 * no scaled copy of it is made.
 */

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay for this tensor (0 where it is not decayed). */
  weightDecay: number;
}

/** One AdamW update of one tensor at optimizer step `t` (1-based), with grad·gradScale as the gradient. */
export function adamwUpdate(
  p: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  t: number,
  gradScale: number,
  h: AdamWHyper,
): void {
  const { lr, beta1, beta2, eps } = h;
  const decay = 1 - lr * h.weightDecay;
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  // m̂/(√v̂ + ε) = (m/bc1) / (√v/√bc2 + ε): fold the bias corrections into two scalars.
  const stepSize = lr / (1 - Math.pow(beta1, t));
  const sqrtBc2 = Math.sqrt(1 - Math.pow(beta2, t));
  const n = p.length;
  for (let i = 0; i < n; i++) {
    const gi = grad[i] * gradScale;
    const mi = beta1 * m[i] + c1 * gi;
    const vi = beta2 * v[i] + c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - (stepSize * mi) / (Math.sqrt(vi) / sqrtBc2 + eps);
  }
}

/** Σ x² in float64. */
export function sumOfSquares(x: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  const n = x.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    s0 += x[i] * x[i];
    s1 += x[i + 1] * x[i + 1];
  }
  if (i < n) s0 += x[i] * x[i];
  return s0 + s1;
}

/** acc += x, elementwise. */
export function addInto(acc: Float32Array, x: Float32Array): void {
  for (let i = 0; i < acc.length; i++) acc[i] += x[i];
}

/**
 * Which parameters decay, as Hugging Face's Trainer chooses: every weight except biases and
 * normalisation weights (here: names ending in `.bias`, and 1-D tensors, which are the norms'
 * γ). Embeddings and the LM head do decay, as they do there.
 */
export function decays(name: string, shape: readonly number[]): boolean {
  return !name.endsWith('.bias') && shape.length >= 2;
}
