/**
 * Rewrites a decoder graph so quantized weights run from their int blocks through ORT's
 * com.microsoft ops (block 32) instead of float initializers:
 *
 *   MatMul   x ─MatMul─ y        with B = Transpose(W) (Linear, W [N, K]) or B = W (Conv1D, W [K, N])
 *            → x ─MatMulNBits(qweight [N, K/32, 32·bits/8] u8, scales [N, K/32] f32; K, N, bits, block_size)─ y
 *   Gather   ids ─Gather(W [N, K])─ e                              (embedding rows)
 *            → ids ─GatherBlockQuantized(qweight, Reshape(scales → [N, K/32, 1]))─ [.., K/32, 32] ─Reshape─ e
 *
 * The payload is used as stored (MatMulNBits' own layout, zero point 2^(bits−1), which is
 * also GatherBlockQuantized's default for uint8 data), so the weights are exactly the
 * dequantized values; MatMulNBits rounds the activations to int8 blocks. A tied embedding and
 * head share one qweight and one scales tensor; the float weight is dropped once nothing reads it.
 */
import { attr, type Graph, type Node, type Value } from '../graph/builder.js';
import * as op from '../graph/ops.js';
import { BLOCK_SIZE, type QuantizedMatrix } from '../transforms/blocks.js';
import { halfToNumber } from '../transforms/quantize.js';

/**
 * accuracy_level 4: MLAS quantizes the activations to int8 per block and runs integer dot
 * products. Measured on this 2-core machine for a 768×3072 GEMV: 8-bit weights 18× and 4-bit
 * 3× faster than the float-activation kernels (level 0), which made 8-bit slower than fp32.
 * The activation rounding is what llama.cpp's Q8_0/Q4_0 kernels do too.
 */
const INT8_ACTIVATIONS = 4;

/** Replaces every MatMul and Gather over a quantized weight; returns the weight names rewritten. */
export function useMatMulNBits(g: Graph, quantized: ReadonlyMap<string, QuantizedMatrix>): string[] {
  const consumers = new Map<Value, Node[]>();
  for (const n of g.nodes) for (const v of n.inputs) if (v) consumers.set(v, [...(consumers.get(v) ?? []), n]);
  const payloads = new Map<string, { qweight: Value; scales: Value }>();
  // One qweight and one scales constant per weight, whichever of its uses asks first.
  const payload = (name: string, q: QuantizedMatrix) => {
    let p = payloads.get(name);
    if (!p) {
      const blocks = q.k / BLOCK_SIZE;
      p = {
        qweight: g.constant('uint8', [q.n, blocks, (BLOCK_SIZE * q.bits) / 8], q.qweight, `${name}.qweight`),
        scales: g.constant('float32', [q.n, blocks], Float32Array.from(q.scales, halfToNumber), `${name}.scales`),
      };
      payloads.set(name, p);
    }
    return p;
  };
  const rewritten = new Set<string>();
  const dead = new Set<Node>();
  for (const node of [...g.nodes]) {
    if (node.opType === 'Gather') {
      const data = node.inputs[0]!;
      const q = data.kind === 'param' ? quantized.get(data.name) : undefined;
      if (!q || node.attrs.axis?.value !== 0) continue;
      gatherBlockQuantized(g, node, q, payload(data.name, q));
      rewritten.add(data.name);
      continue;
    }
    if (node.opType !== 'MatMul') continue;
    const b = node.inputs[1]!;
    let weight: Value | undefined;
    if (b.kind === 'param') weight = b; // Conv1D: x @ W[K, N]
    else if (b.producer?.opType === 'Transpose' && b.producer.inputs[0]?.kind === 'param' && consumers.get(b)?.length === 1) {
      weight = b.producer.inputs[0]!; // Linear: x @ W[N, K]ᵀ
    }
    const q = weight && quantized.get(weight.name);
    if (!weight || !q) continue;
    if (b !== weight) dead.add(b.producer!);
    const { qweight, scales } = payload(weight.name, q);
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

/**
 * Turns `gather` (rows of W) into GatherBlockQuantized over W's payload. ORT wants the scales
 * with the data's rank, [N, K/32, 1] beside qweight's [N, K/32, 32·bits/8], so they pass
 * through a Reshape of the [N, K/32] tensor MatMulNBits reads (ORT folds it at load); the
 * gathered [.., K/32, 32] blocks are reshaped back to [.., K] by the node that was the Gather,
 * so its output, and everything reading it, stays as it was.
 */
function gatherBlockQuantized(g: Graph, gather: Node, q: QuantizedMatrix, p: { qweight: Value; scales: Value }): void {
  const at = g.nodes.indexOf(gather);
  const before = g.nodes.length;
  const base = gather.name.replace(/Gather$/, '');
  const ids = gather.inputs[1]!;
  const blocks = q.k / BLOCK_SIZE;
  const scales = op.reshape(g, `${base}scales/Reshape`, p.scales, [q.n, blocks, 1]);
  const [rows] = g.node(
    'GatherBlockQuantized', `${base}GatherBlockQuantized`, [p.qweight, ids, scales],
    [{ dtype: 'float32', shape: [...ids.shape, blocks, BLOCK_SIZE] }],
    { gather_axis: attr.int(0), quantize_axis: attr.int(2), block_size: attr.int(BLOCK_SIZE), bits: attr.int(q.bits) },
    'com.microsoft',
  );
  // The new nodes go where the Gather was, keeping the node list in topological order.
  g.nodes.splice(at, 0, ...g.nodes.splice(before));
  gather.opType = 'Reshape';
  gather.name = `${base}Reshape`;
  gather.inputs = [rows, g.int64([...ids.shape.map(() => 0), q.k])];
  gather.attrs = {};
}
