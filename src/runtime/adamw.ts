/**
 * AdamW in PyTorch's form (torch.optim.AdamW, the update Hugging Face's Trainer uses), on
 * float32 arrays in place:
 *   p ← p − lr·wd·p;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   p ← p − lr·(m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
 * The gradient arrives unscaled with a factor (1/grad_accum × the clipping coefficient), so
 * no scaled copy of it is made.
 *
 * The update runs as a WebAssembly SIMD kernel (adamw-wasm.ts), in float32 as PyTorch's does,
 * and so does the gradient norm's Σ g². The code is kept as source text so that
 * adamw-threads.ts runs the very same code in its worker threads (a worker cannot import a .ts
 * module under the test runner).
 */
import { adamwWasmBytes, CHUNK, MAKE_KERNELS_SOURCE } from './adamw-wasm.js';

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay for this tensor (0 where it is not decayed). */
  weightDecay: number;
}

/** The scalars one tensor's update needs, in the order the kernel takes them after the four arrays. */
export function updateScalars(t: number, gradScale: number, h: AdamWHyper): number[] {
  // m̂/(√v̂ + ε) = (m/bc1) / (√v·(1/√bc2) + ε): the bias corrections fold into two scalars.
  return [gradScale, h.beta1, h.beta2, 1 - h.beta1, 1 - h.beta2, 1 - h.lr * h.weightDecay, h.lr / (1 - Math.pow(h.beta1, t)), 1 / Math.sqrt(1 - Math.pow(h.beta2, t)), h.eps];
}

interface Kernels {
  update(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, ...scalars: number[]): void;
  sumOfSquares(g: Float32Array): number;
}
const kernels = new Function('bytes', 'CHUNK', MAKE_KERNELS_SOURCE)(adamwWasmBytes(), CHUNK) as Kernels;

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
  kernels.update(p, grad, m, v, ...updateScalars(t, gradScale, h));
}

/** Σ x², accumulated in float64. */
export function sumOfSquares(x: Float32Array): number {
  return kernels.sumOfSquares(x);
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
