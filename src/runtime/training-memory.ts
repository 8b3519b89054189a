/**
 * An up-front estimate of a training step's memory, so a batch that cannot fit fails with a
 * clear message before ORT allocates anything:
 *
 *   activations  every float tensor the forward pass and loss compute (backward reads most of
 *                them, so ORT keeps them alive until their gradient rule has run)
 *   backward     the largest forward tensor three times over (the vocabulary-sized softmax,
 *                its one-hot difference and the logits gradient live at once)
 *   parameters   5 × 4 bytes each: weights, AdamW m and v, the gradient buffer ORT writes
 *                into and the copy of it that onnxruntime-node returns
 *
 * bench/train.ts prints this beside the measured peak RSS.
 */
import type { Graph } from '../graph/builder.js';

const BYTES: Record<string, number> = { float32: 4, float16: 2, int64: 8, int32: 4, bool: 1, uint8: 1 };

export function trainingMemoryBytes(graph: Graph, forwardNodes: number, paramCount: number): number {
  let activations = 0;
  let largest = 0;
  for (const node of graph.nodes.slice(0, forwardNodes)) {
    for (const out of node.outputs) {
      if (out.dtype !== 'float32' && out.dtype !== 'float16') continue;
      const n = out.shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1) * BYTES[out.dtype];
      activations += n;
      largest = Math.max(largest, n);
    }
  }
  return activations + 3 * largest + 5 * 4 * paramCount;
}
