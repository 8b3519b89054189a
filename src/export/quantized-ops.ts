/**
 * Rewrites a decoder graph so quantized weights run from their integers through ORT's
 * com.microsoft kernels instead of float initializers, the kernel per bit width the fastest
 * measured here (2-core AVX2 without VNNI; one token's product for GPT-2's shapes, and a
 * 128-token prompt's):
 *
 *   4 bits  x ─MatMulNBits(qweight [N, K/32, 16] u8, scales [N, K/32] f32; accuracy_level 4)─ y
 *           The blocks as stored (zero point 8); MLAS rounds the activations to int8 per block
 *           of 32 and runs integer dot products, as llama.cpp's Q4_0 kernel does.
 *   8 bits  x ─DynamicQuantizeMatMul(B [K, N] u8, scale [N] f32, zero point [N] = 128[, bias])─ y
 *           ORT's dynamic int8 product (what its quantize_dynamic makes): the activations
 *           rounded to uint8 per call (asymmetric, min..max), the weights per output column.
 *           Against MatMulNBits 8-bit: 0.55–0.85× its time for one token, half for a prompt
 *           (as fast as fp32 there, where MatMulNBits took twice fp32's). Unsigned weights on
 *           purpose: MLAS's u8×s8 kernel adds pairs of products in int16 with saturation on
 *           AVX2 without VNNI, and full-range activations against s8 weights overflowed
 *           (logits off by a quarter of their range on a tiny llama); u8×u8 widens first.
 *           The Q8_0 blocks are rescaled to one scale per column, the row's largest block
 *           scale, so that block stays exact and the others take one more rounding of at most
 *           half a step.
 *
 *   Gather  ids ─Gather(W [N, K])─ e  (embedding rows; a tied head reads the same tensor)
 *           4 bits → GatherBlockQuantized(qweight, scales [N, K/32, 1]) ─Reshape─ e
 *           8 bits → (Gather(B, ids, axis 1) − 128) ─Transpose─ · scale[ids] ─ e
 *
 * MatMul's B is Transpose(W) for a Linear (W [N, K]) or W itself for a Conv1D (W [K, N]). A
 * tied embedding and head share one payload; the float weight is dropped once nothing reads it.
 */
import { attr, type Graph, type Node, type Value } from '../graph/builder.js';
import * as op from '../graph/ops.js';
import { BLOCK_SIZE, type QuantizedMatrix } from '../transforms/blocks.js';
import { f16ToF32 } from '../models/float16.js';

/** MatMulNBits' accuracy_level 4: int8 activations per block (3× the float-activation kernel's speed at 4 bits). */
const INT8_ACTIVATIONS = 4;

/** The 8-bit weights' zero point: stored values 1..255 stand for −127..127. */
const ZERO_POINT = 128;

interface BlockPayload {
  bits: 4;
  qweight: Value;
  scales: Value;
}

interface ColumnPayload {
  bits: 8;
  /** uint8 [K, N]: column n is row n of W. */
  columns: Value;
  /** float32 [N]. */
  scale: Value;
  /** uint8 [N], all ZERO_POINT. */
  zeroPoint: Value;
}

/** Replaces every MatMul and Gather over a quantized weight; returns the weight names rewritten. */
export function useQuantizedOps(g: Graph, quantized: ReadonlyMap<string, QuantizedMatrix>): string[] {
  const consumers = new Map<Value, Node[]>();
  for (const n of g.nodes) for (const v of n.inputs) if (v) consumers.set(v, [...(consumers.get(v) ?? []), n]);
  // One payload per weight, whichever of its uses asks first.
  const payloads = new Map<string, BlockPayload | ColumnPayload>();
  const payload = (name: string, q: QuantizedMatrix) => {
    let p = payloads.get(name);
    if (!p) {
      p = q.bits === 8 ? columnPayload(g, name, q) : blockPayload(g, name, q);
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
      const p = payload(data.name, q);
      if (p.bits === 8) gatherColumns(g, node, p);
      else gatherBlockQuantized(g, node, q, p);
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
    const p = payload(weight.name, q);
    node.domain = 'com.microsoft';
    if (p.bits === 8) {
      node.opType = 'DynamicQuantizeMatMul';
      node.name = node.name.replace(/MatMul$/, 'DynamicQuantizeMatMul');
      node.inputs = [node.inputs[0], p.columns, p.scale, p.zeroPoint];
      node.attrs = {};
      // A bias Add right after it (Conv1D and biased Linear layers) becomes the kernel's own bias input.
      const add = consumers.get(node.outputs[0]);
      const bias = add?.length === 1 && add[0].opType === 'Add' ? add[0].inputs[1] : undefined;
      if (bias && bias.kind === 'param' && bias.shape.length === 1 && bias.shape[0] === q.n && add![0].inputs[0] === node.outputs[0]) {
        node.inputs.push(bias);
        node.outputs = add![0].outputs;
        node.outputs[0].producer = node;
        dead.add(add![0]);
      }
    } else {
      node.opType = 'MatMulNBits';
      node.name = node.name.replace(/MatMul$/, 'MatMulNBits');
      node.inputs = [node.inputs[0], p.qweight, p.scales];
      node.attrs = {
        K: attr.int(q.k), N: attr.int(q.n), bits: attr.int(q.bits), block_size: attr.int(BLOCK_SIZE),
        accuracy_level: attr.int(INT8_ACTIVATIONS),
      };
    }
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

/** The fp16 block scales as float32, in one pass over the lookup table. */
function floatScales(q: QuantizedMatrix): Float32Array {
  const out = new Float32Array(q.scales.length);
  f16ToF32(q.scales, out);
  return out;
}

function blockPayload(g: Graph, name: string, q: QuantizedMatrix): BlockPayload {
  const blocks = q.k / BLOCK_SIZE;
  return {
    bits: 4,
    qweight: g.constant('uint8', [q.n, blocks, (BLOCK_SIZE * q.bits) / 8], q.qweight, `${name}.qweight`),
    scales: g.constant('float32', [q.n, blocks], floatScales(q), `${name}.scales`),
  };
}

/** The Q8_0 rows as DynamicQuantizeMatMul's B [K, N], one scale per column (see the top). */
function columnPayload(g: Graph, name: string, q: QuantizedMatrix): ColumnPayload {
  const { n, k } = q;
  const blocks = k / BLOCK_SIZE;
  const blockScale = floatScales(q);
  // Each row's scale, and each block's factor onto it.
  const scale = new Float32Array(n);
  const ratio = new Float64Array(n * blocks);
  for (let r = 0; r < n; r++) {
    let top = 0;
    for (let b = 0; b < blocks; b++) top = Math.max(top, Math.abs(blockScale[r * blocks + b]));
    scale[r] = top;
    // An all-zero row keeps ratio 0: every value lands on the zero point.
    if (top > 0) for (let b = 0; b < blocks; b++) ratio[r * blocks + b] = blockScale[r * blocks + b] / top;
  }
  // The transpose in tiles of TILE rows, so reads stay in TILE streams and writes in runs of TILE bytes.
  const TILE = 64;
  const columns = new Uint8Array(k * n);
  const stored = q.qweight;
  for (let r0 = 0; r0 < n; r0 += TILE) {
    const r1 = Math.min(n, r0 + TILE);
    for (let c = 0; c < k; c++) {
      const block = (c / BLOCK_SIZE) | 0;
      const out = c * n;
      for (let r = r0; r < r1; r++) {
        // Rounded half up: stored − 128 is in −128..127 and ratio ≤ 1, so the sum is in 0..255.5 and `| 0` floors it.
        columns[out + r] = ((stored[r * k + c] - ZERO_POINT) * ratio[r * blocks + block] + ZERO_POINT + 0.5) | 0;
      }
    }
  }
  return {
    bits: 8,
    columns: g.constant('uint8', [k, n], columns, `${name}.columns`),
    scale: g.constant('float32', [n], scale, `${name}.column_scales`),
    zeroPoint: g.constant('uint8', [n], new Uint8Array(n).fill(ZERO_POINT), `${name}.column_zero_points`),
  };
}

/**
 * Turns `gather` (rows of W) into GatherBlockQuantized over W's 4-bit blocks. ORT wants the
 * scales with the data's rank, [N, K/32, 1] beside qweight's [N, K/32, 16], so they pass
 * through a Reshape of the [N, K/32] tensor MatMulNBits reads (ORT folds it at load); the
 * gathered [.., K/32, 32] blocks are reshaped back to [.., K] by the node that was the Gather,
 * so its output, and everything reading it, stays as it was.
 */
function gatherBlockQuantized(g: Graph, gather: Node, q: QuantizedMatrix, p: BlockPayload): void {
  const base = gather.name.replace(/Gather$/, '');
  const ids = gather.inputs[1]!;
  const blocks = q.k / BLOCK_SIZE;
  const rows = insertBefore(g, gather, () => {
    const scales = op.reshape(g, `${base}scales/Reshape`, p.scales, [q.n, blocks, 1]);
    return g.node(
      'GatherBlockQuantized', `${base}GatherBlockQuantized`, [p.qweight, ids, scales],
      [{ dtype: 'float32', shape: [...ids.shape, blocks, BLOCK_SIZE] }],
      { gather_axis: attr.int(0), quantize_axis: attr.int(2), block_size: attr.int(BLOCK_SIZE), bits: attr.int(q.bits) },
      'com.microsoft',
    )[0];
  });
  gather.opType = 'Reshape';
  gather.name = `${base}Reshape`;
  gather.inputs = [rows, g.int64([...ids.shape.map(() => 0), q.k])];
  gather.attrs = {};
}

/**
 * Turns `gather` (rows of W) into the same rows read from the 8-bit columns the head's
 * product uses: columns `ids` of B [K, N] → [K, ..ids] → [..ids, K], less the zero point,
 * times each id's scale. A column's values are N bytes apart, but a step looks up few rows,
 * which is cheaper than keeping a second, row-major copy of the table.
 */
function gatherColumns(g: Graph, gather: Node, p: ColumnPayload): void {
  const base = gather.name.replace(/Gather$/, '');
  const ids = gather.inputs[1]!;
  const [centred, scale] = insertBefore(g, gather, () => {
    const picked = op.gather(g, `${base}columns/Gather`, p.columns, ids, 1);
    const rank = ids.shape.length;
    const rows = op.transpose(g, `${base}columns/Transpose`, picked, [...Array.from({ length: rank }, (_, i) => i + 1), 0]);
    const values = op.sub(g, `${base}columns/Sub`, op.cast(g, `${base}columns/Cast`, rows, 'float32'), g.float32(ZERO_POINT));
    return [values, op.unsqueeze(g, `${base}column_scales/Unsqueeze`, op.gather(g, `${base}column_scales/Gather`, p.scale, ids), [-1])];
  });
  gather.opType = 'Mul';
  gather.name = `${base}columns/Mul`;
  gather.inputs = [centred, scale];
  gather.attrs = {};
}

/** Runs `build` and moves the nodes it adds to just before `node`, keeping the list in topological order. */
function insertBefore<T>(g: Graph, node: Node, build: () => T): T {
  const before = g.nodes.length;
  const out = build();
  g.nodes.splice(g.nodes.indexOf(node), 0, ...g.nodes.splice(before));
  return out;
}
