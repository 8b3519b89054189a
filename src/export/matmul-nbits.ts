/**
 * Rewrites a decoder graph so quantized weights run through ORT's com.microsoft MatMulNBits
 * (weight-only int4/int8, block 32) instead of a float MatMul:
 *
 *   before   x ─MatMul─ y        with B = Transpose(W) (Linear, W [N, K]) or B = W (Conv1D, W [K, N])
 *   after    x ─MatMulNBits(qweight [N, K/32, 32·bits/8] u8, scales [N, K/32] f32; K, N, bits, block_size)─ y
 *
 * The payload is used as stored (MatMulNBits' own layout, zero point 2^(bits−1)), so the
 * weights are exactly the dequantized values; the activations are rounded to int8 blocks. A quantized weight still read elsewhere (a tied
 * embedding's Gather) keeps its float initializer for that use.
 */
import { attr, type Graph, type Node, type Value } from '../graph/builder.js';
import { BLOCK_SIZE, type QuantizedMatrix } from '../transforms/blocks.js';
import { halfToNumber } from '../transforms/quantize.js';

/**
 * accuracy_level 4: MLAS quantizes the activations to int8 per block and runs integer dot
 * products. Measured on this 2-core machine for a 768×3072 GEMV: 8-bit weights 18× and 4-bit
 * 3× faster than the float-activation kernels (level 0), which made 8-bit slower than fp32.
 * The activation rounding is what llama.cpp's Q8_0/Q4_0 kernels do too.
 */
const INT8_ACTIVATIONS = 4;

/** Replaces every MatMul over a quantized weight; returns the weight names rewritten. */
export function useMatMulNBits(g: Graph, quantized: ReadonlyMap<string, QuantizedMatrix>): string[] {
  const consumers = new Map<Value, Node[]>();
  for (const n of g.nodes) for (const v of n.inputs) if (v) consumers.set(v, [...(consumers.get(v) ?? []), n]);
  const rewritten = new Set<string>();
  const dead = new Set<Node>();
  for (const node of g.nodes) {
    if (node.opType !== 'MatMul') continue;
    const b = node.inputs[1]!;
    let weight: Value | undefined;
    if (b.kind === 'param') weight = b; // Conv1D: x @ W[K, N]
    else if (b.producer?.opType === 'Transpose' && b.producer.inputs[0]?.kind === 'param' && consumers.get(b)?.length === 1) {
      weight = b.producer.inputs[0]!; // Linear: x @ W[N, K]ᵀ
      dead.add(b.producer);
    }
    const q = weight && quantized.get(weight.name);
    if (!weight || !q) {
      if (b.producer) dead.delete(b.producer);
      continue;
    }
    const blocks = q.k / BLOCK_SIZE;
    const qweight = g.constant('uint8', [q.n, blocks, (BLOCK_SIZE * q.bits) / 8], q.qweight, `${weight.name}.qweight`);
    const scales = g.constant('float32', [q.n, blocks], Float32Array.from(q.scales, halfToNumber), `${weight.name}.scales`);
    node.opType = 'MatMulNBits';
    node.domain = 'com.microsoft';
    node.name = node.name.replace(/MatMul$/, 'MatMulNBits');
    node.inputs = [node.inputs[0], qweight, scales];
    node.attrs = {
      K: attr.int(q.k), N: attr.int(q.n), bits: attr.int(q.bits), block_size: attr.int(BLOCK_SIZE),
      accuracy_level: attr.int(INT8_ACTIVATIONS),
    };
    rewritten.add(weight.name);
  }
  // Drop the Transposes that fed only rewritten MatMuls, then the weights nothing reads now.
  const keep = g.nodes.filter((n) => !dead.has(n));
  g.nodes.splice(0, g.nodes.length, ...keep);
  const read = new Set<Value>();
  for (const n of g.nodes) for (const v of n.inputs) if (v) read.add(v);
  for (const name of rewritten) {
    const p = g.params.get(name)!;
    if (!read.has(p) && !g.outputs.includes(p)) g.params.delete(name);
  }
  return [...rewritten];
}
