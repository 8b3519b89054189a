/**
 * The primitive ops the architectures use, each a thin typed wrapper over one ONNX operator
 * (default domain, opset 20) that records the node and computes its output shape. Kept few
 * and explicit on purpose: the autodiff pass needs one vector-Jacobian rule per op here.
 * Every op takes the node's full path name first (`/model/layers.0/attn/q_proj/MatMul`).
 */
import { attr, type Dim, type DType, type Graph, type Value } from './builder.js';
import { broadcast, matMulShape, normAxis, reshapeShape, sliceDim, transposeShape } from './shapes.js';

/** ONNX's "to the end" for Slice ends. */
export const SLICE_END = 2 ** 31 - 1;

const ONNX_DTYPE_CODE: Record<DType, number> = {
  float32: 1, uint8: 2, int32: 6, int64: 7, bool: 9, float16: 10,
};
export function onnxDTypeCode(dtype: DType): number {
  return ONNX_DTYPE_CODE[dtype];
}

function binary(op: string, bool = false) {
  return (g: Graph, name: string, a: Value, b: Value): Value =>
    g.node(op, name, [a, b], [{ dtype: bool ? 'bool' : a.dtype, shape: broadcast(a.shape, b.shape) }])[0];
}
function unary(op: string) {
  return (g: Graph, name: string, x: Value): Value => g.node(op, name, [x], [{ dtype: x.dtype, shape: x.shape }])[0];
}

export const add = binary('Add');
export const sub = binary('Sub');
export const mul = binary('Mul');
export const div = binary('Div');
/** x ** y, elementwise (RMSNorm squares with Pow so ORT's SimplifiedLayerNorm fusion matches). */
export const pow = binary('Pow');
export const equal = binary('Equal', true);
export const lessOrEqual = binary('LessOrEqual', true);
export const greater = binary('Greater', true);
export const and = binary('And', true);

export const neg = unary('Neg');
export const sqrt = unary('Sqrt');
export const tanh = unary('Tanh');
export const sigmoid = unary('Sigmoid');
export const cos = unary('Cos');
export const sin = unary('Sin');
/** max(x, 0): OPT's MLP activation. */
export const relu = unary('Relu');

/** GELU; `approximate: 'tanh'` is GPT-2's gelu_new (Gelu-20). */
export function gelu(g: Graph, name: string, x: Value, approximate: 'none' | 'tanh'): Value {
  return g.node('Gelu', name, [x], [{ dtype: x.dtype, shape: x.shape }], { approximate: attr.string(approximate) })[0];
}

export function matMul(g: Graph, name: string, a: Value, b: Value): Value {
  return g.node('MatMul', name, [a, b], [{ dtype: a.dtype, shape: matMulShape(a.shape, b.shape) }])[0];
}

/** Row lookup: data[indices] along `axis` (embeddings, picking one dim of a Shape). */
export function gather(g: Graph, name: string, data: Value, indices: Value, axis = 0): Value {
  const ax = normAxis(axis, data.shape.length);
  const shape = [...data.shape.slice(0, ax), ...indices.shape, ...data.shape.slice(ax + 1)];
  return g.node('Gather', name, [data, indices], [{ dtype: data.dtype, shape }], { axis: attr.int(axis) })[0];
}

/**
 * Reshape to a static target with ONNX's 0 = keep and −1 = infer. `shape` states the result
 * where symbolic inference cannot know it (regrouped heads: 'seq' rather than a made-up name).
 */
export function reshape(g: Graph, name: string, x: Value, target: number[], shape?: Dim[]): Value {
  const out = shape ?? reshapeShape(x.shape, target);
  return g.node('Reshape', name, [x, g.int64(target)], [{ dtype: x.dtype, shape: out }])[0];
}

export function transpose(g: Graph, name: string, x: Value, perm: number[]): Value {
  return g.node('Transpose', name, [x], [{ dtype: x.dtype, shape: transposeShape(x.shape, perm) }], {
    perm: attr.ints(perm),
  })[0];
}

/** Concatenation; `dimName` names a symbolic result dim (past_seq + seq = 'total_seq'). */
export function concat(g: Graph, name: string, xs: Value[], axis: number, dimName?: string): Value {
  const ax = normAxis(axis, xs[0].shape.length);
  const shape = [...xs[0].shape];
  const dims = xs.map((x) => x.shape[ax]);
  shape[ax] = dims.every((d) => typeof d === 'number')
    ? (dims as number[]).reduce((a, b) => a + b, 0)
    : (dimName ?? dims.join('+'));
  return g.node('Concat', name, xs, [{ dtype: xs[0].dtype, shape }], { axis: attr.int(axis) })[0];
}

/** Static slice: starts/ends/axes are constants (step 1). */
export function slice(g: Graph, name: string, x: Value, starts: number[], ends: number[], axes: number[]): Value {
  const shape = [...x.shape];
  axes.forEach((a, i) => {
    const ax = normAxis(a, shape.length);
    shape[ax] = sliceDim(shape[ax], starts[i], ends[i], 1);
  });
  return g.node('Slice', name, [x, g.int64(starts), g.int64(ends), g.int64(axes)], [{ dtype: x.dtype, shape }])[0];
}

/** Splits `axis` into static parts (e.g. GPT-2's fused c_attn output into q, k, v). */
export function split(g: Graph, name: string, x: Value, sizes: number[], axis: number): Value[] {
  const ax = normAxis(axis, x.shape.length);
  const outs = sizes.map((s) => {
    const shape = [...x.shape];
    shape[ax] = s;
    return { dtype: x.dtype, shape };
  });
  return g.node('Split', name, [x, g.int64(sizes)], outs, { axis: attr.int(axis) });
}

export function softmax(g: Graph, name: string, x: Value, axis = -1): Value {
  return g.node('Softmax', name, [x], [{ dtype: x.dtype, shape: x.shape }], { axis: attr.int(axis) })[0];
}

/** LayerNormalization-17 over the last axis; only Y is requested (Mean/InvStdDev optional). */
export function layerNorm(g: Graph, name: string, x: Value, scale: Value, bias: Value, epsilon: number): Value {
  return g.node('LayerNormalization', name, [x, scale, bias], [{ dtype: x.dtype, shape: x.shape }], {
    axis: attr.int(-1),
    epsilon: attr.float(epsilon),
  })[0];
}

function reduce(op: string) {
  return (g: Graph, name: string, x: Value, axes: number[], keepdims = true): Value => {
    const rank = x.shape.length;
    const norm = axes.map((a) => normAxis(a, rank));
    const shape = keepdims
      ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d))
      : x.shape.filter((_, i) => !norm.includes(i));
    // Opset 18+: axes are an input, not an attribute.
    return g.node(op, name, [x, g.int64(axes)], [{ dtype: x.dtype, shape }], { keepdims: attr.int(keepdims ? 1 : 0) })[0];
  };
}
export const reduceMean = reduce('ReduceMean');
export const reduceSum = reduce('ReduceSum');
/** Only on integer paths (the largest position id, for longrope); it has no gradient rule. */
export const reduceMax = reduce('ReduceMax');

export function where(g: Graph, name: string, cond: Value, a: Value, b: Value): Value {
  const shape = broadcast(broadcast(cond.shape, a.shape), b.shape);
  return g.node('Where', name, [cond, a, b], [{ dtype: a.dtype, shape }])[0];
}

export function cast(g: Graph, name: string, x: Value, to: DType): Value {
  return g.node('Cast', name, [x], [{ dtype: to, shape: x.shape }], { to: attr.int(onnxDTypeCode(to)) })[0];
}

/** The runtime shape of `x` as int64 [rank]. */
export function shapeOf(g: Graph, name: string, x: Value): Value {
  return g.node('Shape', name, [x], [{ dtype: 'int64', shape: [x.shape.length] }])[0];
}

export function unsqueeze(g: Graph, name: string, x: Value, axes: number[]): Value {
  const rank = x.shape.length + axes.length;
  const norm = axes.map((a) => normAxis(a, rank));
  const shape: Dim[] = [];
  let src = 0;
  for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : x.shape[src++]);
  return g.node('Unsqueeze', name, [x, g.int64(axes)], [{ dtype: x.dtype, shape }])[0];
}

/** 1-D [start, limit) by delta; all three are scalars. `length` names the result dim. */
export function range(g: Graph, name: string, start: Value, limit: Value, delta: Value, length: Dim): Value {
  return g.node('Range', name, [start, limit, delta], [{ dtype: start.dtype, shape: [length] }])[0];
}
