/**
 * Rewrites of a built forward graph into single ONNX Runtime kernels, made before autodiff
 * so that the backward pass differentiates one op with a short rule (grad-rules.ts)
 * instead of each elementwise piece. ORT fuses the same patterns by itself at load, but in a
 * training graph the pieces' outputs feed gradient rules, so its fusions no longer match and
 * every piece runs as its own pass over the activations.
 *
 *   RMSNorm  Pow(x,2) → ReduceMean(−1) → Add(ε) → Sqrt → Div(x, ·) → Mul(·, γ)
 *            ⇒ SimplifiedLayerNormalization(x, γ) → y, inv_std_var [..., 1]
 *   RoPE     Split(x) → Concat(x₂, x₁) → Mul(·, signedSin) + Mul(x, cos)   (layers.ts applyRotary)
 *            ⇒ com.microsoft RotaryEmbedding(x [B,H,S,D], index, cos [S,D/2], sin [S,D/2])
 *
 * (SiLU is not fused: ORT's QuickGelu kernel, x·σ(αx), measured 6.6 ms on SmolLM2's
 * [1024, 1536] gate against 2.9 ms for Sigmoid + Mul; grad-rules.ts shortens its backward.)
 * Each rewrite keeps the final output value (its name, shape and consumers), so the graph's
 * outputs and later nodes are untouched; an intermediate read anywhere else blocks it.
 */
import { attr, type Graph, type Node, type Value } from './builder.js';
import * as op from './ops.js';

/** Consumers of each value among the nodes, with graph outputs counted as one more use. */
function useCounts(g: Graph): Map<Value, number> {
  const uses = new Map<Value, number>();
  for (const n of g.nodes) for (const v of n.inputs) if (v) uses.set(v, (uses.get(v) ?? 0) + 1);
  for (const v of g.outputs) uses.set(v, (uses.get(v) ?? 0) + 1);
  return uses;
}

/** The node producing `v` if it has op type `opType` and `v` has exactly one use. */
function soleProducer(v: Value | null, opType: string, uses: Map<Value, number>): Node | undefined {
  const n = v?.producer;
  return n && n.opType === opType && uses.get(v!) === 1 ? n : undefined;
}

/** A scalar float constant's value, if `v` is one. */
function scalarConstant(g: Graph, v: Value | null): number | undefined {
  const c = v ? g.constants.get(v.name) : undefined;
  return c && c.value === v && c.data.length === 1 && c.data instanceof Float32Array ? c.data[0] : undefined;
}

/** Whether `v` is an int64 constant holding exactly `values`. */
function isInt64Constant(g: Graph, v: Value | null, values: number[]): boolean {
  const c = v ? g.constants.get(v.name) : undefined;
  return !!c && c.value === v && c.data instanceof BigInt64Array && c.data.length === values.length && values.every((x, i) => Number(c.data[i]) === x);
}

/** Replaces `remove` by `add` in g.nodes, `add` taking the place of the last removed node. */
function replaceNodes(g: Graph, remove: Node[], add: Node): void {
  const gone = new Set(remove);
  const at = Math.max(...remove.map((n) => g.nodes.indexOf(n)));
  g.nodes.splice(at, 1, add);
  for (let i = g.nodes.length - 1; i >= 0; i--) if (gone.has(g.nodes[i])) g.nodes.splice(i, 1);
}

/** One SimplifiedLayerNormalization per RMSNorm chain (layers.ts rmsNorm) whose pieces are read nowhere else. */
function fuseRmsNorms(g: Graph): number {
  let fused = 0;
  const uses = useCounts(g);
  for (const mul of g.nodes.filter((n) => n.opType === 'Mul')) {
    const [normed, weight] = mul.inputs;
    const div = soleProducer(normed, 'Div', uses);
    if (!div || !weight) continue;
    const [x, std] = div.inputs as Value[];
    const sqrt = soleProducer(std, 'Sqrt', uses);
    const add = sqrt && soleProducer(sqrt.inputs[0], 'Add', uses);
    const epsilon = add && scalarConstant(g, add.inputs[1]);
    const mean = add && soleProducer(add.inputs[0], 'ReduceMean', uses);
    const pow = mean && soleProducer(mean.inputs[0], 'Pow', uses);
    if (!pow || epsilon === undefined || pow.inputs[0] !== x || scalarConstant(g, pow.inputs[1]) !== 2) continue;
    if (!isInt64Constant(g, mean.inputs[1], [-1]) || mean.attrs.keepdims?.value !== 1) continue;
    // The kernel's scale is the normalised axis itself: γ [C] for x [..., C].
    if (weight.shape.length !== 1 || weight.shape[0] !== x.shape[x.shape.length - 1]) continue;
    const y = mul.outputs[0];
    const node: Node = {
      name: mul.name.replace(/\/Mul$/, '/SimplifiedLayerNormalization'),
      opType: 'SimplifiedLayerNormalization',
      domain: '',
      inputs: [x, weight],
      outputs: [],
      attrs: { axis: attr.int(-1), epsilon: attr.float(epsilon) },
    };
    const invStd: Value = { name: `${node.name}/inv_std_var`, dtype: 'float32', shape: x.shape.map((d, i) => (i === x.shape.length - 1 ? 1 : d)), kind: 'node', producer: node };
    y.producer = node;
    node.outputs = [y, invStd];
    replaceNodes(g, [pow, mean, add, sqrt, div, mul], node);
    fused++;
  }
  return fused;
}

/** Runs `emit` (which appends nodes) and moves what it appended to just before `anchor`. */
function emitBefore<T>(g: Graph, anchor: Node, emit: () => T): T {
  const first = g.nodes.length;
  const out = emit();
  const made = g.nodes.splice(first);
  g.nodes.splice(g.nodes.indexOf(anchor), 0, ...made);
  return out;
}

/** The half-table t [1, S, D/2] of a rotary table Unsqueeze(Concat(t, t)) (cos) or Unsqueeze(Concat(Neg(t), t)) (signed sin). */
function halfTable(table: Value, signed: boolean): Value | undefined {
  const unsq = table.producer;
  const cat = unsq?.opType === 'Unsqueeze' ? unsq.inputs[0]?.producer : undefined;
  if (!cat || cat.opType !== 'Concat' || cat.inputs.length !== 2) return undefined;
  const [first, second] = cat.inputs as Value[];
  const firstOk = signed ? first.producer?.opType === 'Neg' && first.producer.inputs[0] === second : first === second;
  const D2 = second.shape[2];
  return firstOk && second.shape.length === 3 && second.shape[0] === 1 && typeof D2 === 'number' ? second : undefined;
}

/**
 * One RotaryEmbedding per applyRotary on a [B, H, S, D] input whose pieces are read nowhere
 * else. Its position input counts rows of the caches, 0..S−1, and the caches are the tables'
 * rows for this sequence (whatever its positions were), so any position ids and scaling hold.
 */
function fuseRotaries(g: Graph): number {
  let fused = 0;
  const uses = useCounts(g);
  const caches = new Map<Value, Value>();
  for (const add of g.nodes.filter((n) => n.opType === 'Add')) {
    const [m1, m2] = add.inputs;
    const mulCos = soleProducer(m1, 'Mul', uses);
    const mulSin = soleProducer(m2, 'Mul', uses);
    if (!mulCos || !mulSin) continue;
    const [x, cosTable] = mulCos.inputs as Value[];
    const [swapped, sinTable] = mulSin.inputs as Value[];
    const concat = soleProducer(swapped, 'Concat', uses);
    const split = concat?.inputs[1]?.producer;
    if (!concat || !split || split.opType !== 'Split' || split.inputs[0] !== x) continue;
    const [x1, x2] = split.outputs;
    if (concat.inputs[0] !== x2 || concat.inputs[1] !== x1 || uses.get(x1) !== 1 || uses.get(x2) !== 1) continue;
    const [B, , S, D] = x.shape;
    const c = halfTable(cosTable, false);
    const s = halfTable(sinTable, true);
    if (x.shape.length !== 4 || typeof S !== 'number' || typeof D !== 'number' || !c || !s || c.shape[1] !== S || c.shape[2] !== D / 2 || s.shape.join() !== c.shape.join()) continue;
    if (typeof B !== 'number') continue;
    const cache = (t: Value) => {
      if (!caches.has(t)) caches.set(t, emitBefore(g, add, () => op.reshape(g, `${t.producer?.name ?? t.name}/cache/Reshape`, t, [S, D / 2])));
      return caches.get(t)!;
    };
    const rows = g.constant('int64', [B, S], BigInt64Array.from({ length: B * S }, (_, i) => BigInt(i % S)), `/rotary/rows/${B}x${S}`);
    const y = add.outputs[0];
    const node: Node = {
      name: add.name.replace(/\/Add$/, '/RotaryEmbedding'),
      opType: 'RotaryEmbedding',
      domain: 'com.microsoft',
      inputs: [x, rows, cache(c), cache(s)],
      outputs: [y],
      attrs: { interleaved: attr.int(0) },
    };
    y.producer = node;
    replaceNodes(g, [split, concat, mulCos, mulSin, add], node);
    fused++;
  }
  return fused;
}

/** Removes nodes whose outputs nothing reads (the rotary tables the caches replaced), until none is left. */
function dropDeadNodes(g: Graph): void {
  for (;;) {
    const read = new Set<Value>(g.outputs);
    for (const n of g.nodes) for (const v of n.inputs) if (v) read.add(v);
    const before = g.nodes.length;
    for (let i = g.nodes.length - 1; i >= 0; i--) if (!g.nodes[i].outputs.some((o) => read.has(o))) g.nodes.splice(i, 1);
    if (g.nodes.length === before) return;
  }
}

/**
 * Drops constants no node reads (the replaced pieces' ε and exponent 2), which ORT would warn
 * about. Call it once the graph is complete: a dropped name cannot be declared again.
 */
export function dropUnreadConstants(g: Graph): void {
  const read = new Set<Value>(g.outputs);
  for (const n of g.nodes) for (const v of n.inputs) if (v) read.add(v);
  for (const [key, c] of g.constants) if (!read.has(c.value)) g.constants.delete(key);
}

/**
 * Applies every rewrite; returns how many nodes each made, by op type. Call it once the graph's
 * outputs (the loss) are declared: nodes that no output depends on are removed.
 */
export function fuseForTraining(g: Graph): Record<string, number> {
  if (g.outputs.length === 0) throw new Error('fuseForTraining needs the graph outputs declared first');
  const made = { SimplifiedLayerNormalization: fuseRmsNorms(g), RotaryEmbedding: fuseRotaries(g) };
  dropDeadNodes(g);
  return made;
}
