/**
 * Small emitters the gradient rules share: static shapes, zeros, reshapes, undoing
 * numpy-style broadcasting, and the rows a cross-entropy counts.
 */
import type { Dim, Graph, Value } from './builder.js';
import * as op from './ops.js';

/** Every dim a number, or an error naming the value (training graphs are static). */
export function staticShape(v: Value): number[] {
  if (!v.shape.every((d): d is number => typeof d === 'number')) {
    throw new Error(`gradient rules need static shapes; ${v.name} is [${v.shape}]`);
  }
  return v.shape as number[];
}

/** A float32 tensor of zeros shaped like `like` (ConstantOfShape's default value is float 0). */
export function zeros(g: Graph, name: string, like: Value): Value {
  return g.node('ConstantOfShape', name, [g.int64(staticShape(like))], [{ dtype: 'float32', shape: like.shape }])[0];
}

/** Reshape to `shape` (static). */
export function reshapeTo(g: Graph, name: string, x: Value, shape: Dim[]): Value {
  const target = shape.map((d) => {
    if (typeof d !== 'number') throw new Error(`cannot reshape ${x.name} to symbolic shape [${shape}]`);
    return d;
  });
  return op.reshape(g, name, x, target, target);
}

/**
 * Undoes broadcasting: sums `grad` over the axes where `target` was 1 or missing, then
 * reshapes to `target`. Returns `grad` itself when the shapes already agree.
 */
export function reduceToShape(g: Graph, name: string, grad: Value, target: readonly Dim[]): Value {
  const rank = grad.shape.length;
  const lead = rank - target.length;
  const axes: number[] = [];
  for (let i = 0; i < rank; i++) {
    const t = i < lead ? 1 : target[i - lead];
    if (t === 1 && grad.shape[i] !== 1) axes.push(i);
  }
  let out = grad;
  if (axes.length > 0) out = op.reduceSum(g, `${name}/ReduceSum`, grad, axes, true);
  if (lead > 0) {
    out = reshapeTo(g, `${name}/Reshape`, out, [...target]);
  }
  return out;
}

/**
 * The rows of a cross-entropy with labels [N] (int64) and an ignore index: `safe` labels
 * (ignored ones set to 0, so they can index), `valid` 1/0 per row (float32) and the `count` of
 * valid rows (at least 1, so a mean over none is 0, not NaN).
 */
export function countedRows(g: Graph, name: string, labels: Value, ignoreIndex: number): { safe: Value; valid: Value; count: Value } {
  const ignored = op.equal(g, `${name}/ignored/Equal`, labels, g.int64(ignoreIndex));
  const safe = op.where(g, `${name}/labels/Where`, ignored, g.int64(0), labels);
  const valid = op.where(g, `${name}/valid/Where`, ignored, g.float32(0), g.float32(1));
  const total = op.reduceSum(g, `${name}/count/ReduceSum`, valid, [0], false);
  const count = g.node('Max', `${name}/count/Max`, [total, g.float32(1)], [{ dtype: 'float32', shape: [] }])[0];
  return { safe, valid, count };
}
