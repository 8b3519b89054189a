/**
 * Host-side tensors: what checkpoint I/O reads and writes, what architectures and transforms
 * work on, and what becomes ORT initializers or inputs. Names are the Hugging Face names
 * (`transformer.h.0.attn.c_attn.weight`, `model.layers.0.self_attn.q_proj.weight`) and shapes
 * are the Hugging Face layouts, so a directory we write loads in Python `transformers`.
 */

/** A dense float32 tensor in row-major order. F16/BF16 checkpoints are widened on load. */
export interface Tensor {
  shape: number[];
  data: Float32Array;
}

/** All parameters of a model, keyed by Hugging Face tensor name (insertion order kept). */
export type Weights = Map<string, Tensor>;

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function tensor(shape: number[], data?: Float32Array): Tensor {
  const n = numel(shape);
  if (data && data.length !== n) {
    throw new Error(`tensor data has ${data.length} elements, shape [${shape}] needs ${n}`);
  }
  return { shape, data: data ?? new Float32Array(n) };
}
