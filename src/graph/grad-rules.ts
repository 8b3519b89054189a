/**
 * One vector-Jacobian rule per op the architectures emit, in standard ONNX ops (ORT's CPU
 * inference build has no *Grad kernels). Shape legend in comments: dY is the gradient of the
 * node's output, dX of an input. Matrix products use forms ORT fuses (Transpose+MatMul →
 * FusedMatMul), so backward matmuls cost no copies.
 */
import { attr, type Graph, type Value } from './builder.js';
import type { GradContext, GradRule } from './autodiff.js';
import { countedRows, reduceToShape, reshapeTo, staticShape, zeros } from './grad-helpers.js';
import * as op from './ops.js';
import { normAxis } from './shapes.js';

function constantData(g: Graph, v: Value | null): number[] {
  const c = v ? g.constants.get(v.name) : undefined;
  if (!c || c.value !== v) throw new Error(`gradient rule needs ${v?.name ?? 'an omitted input'} to be a constant`);
  return Array.from(c.data as ArrayLike<number | bigint>, Number);
}

/** Accumulates `grad` into `x` after undoing broadcasting, if x needs a gradient. */
function give(c: GradContext, suffix: string, x: Value | null, grad: () => Value): void {
  if (!c.requiresGrad(x)) return;
  c.accumulate(x, reduceToShape(c.g, `${c.prefix}/${suffix}`, grad(), x.shape));
}

/** perm that swaps the last two axes of a rank-r tensor. */
function swapLast(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return perm;
}

/** If `v` is Transpose(src) swapping the last two axes, src. */
function transposedFrom(v: Value): Value | undefined {
  const n = v.producer;
  if (!n || n.opType !== 'Transpose') return undefined;
  const perm = n.attrs.perm?.value as number[] | undefined;
  const src = n.inputs[0]!;
  const rank = src.shape.length;
  return perm && perm.join() === swapLast(rank).join() ? src : undefined;
}

/** [..., K] → [M, K], M the product of the leading dims. */
function flatten2d(g: Graph, name: string, x: Value): Value {
  const s = staticShape(x);
  return op.reshape(g, name, x, [-1, s[s.length - 1]]);
}

/**
 * aᵀ·b for a [.., M, K] and b [.., M, N], the batch dims folded into M: [K, N]. The activation
 * a is transposed explicitly ([K, .., M], then reshaped to [K, M]) so that ORT runs a plain
 * MatMul: fused into Gemm or FusedMatMul with transA, MLAS transposes A block by block inside
 * the product, measured here 10–25% slower — the LM head's dW took 650–700 ms that way, 495 ms
 * plus a 14 ms Transpose this way (a gpt2-124M step 7.2 → 6.3 s). The Reshape between keeps
 * ORT's MatmulTransposeFusion from folding the Transpose back into the product.
 */
function aTb(g: Graph, name: string, a: Value, b: Value): Value {
  const rank = a.shape.length;
  const K = staticShape(a)[rank - 1];
  const lastFirst = [rank - 1, ...Array.from({ length: rank - 1 }, (_, i) => i)];
  const at = op.reshape(g, `${name}/A/Reshape`, op.transpose(g, `${name}/A/Transpose`, a, lastFirst), [K, -1]);
  return op.matMul(g, `${name}/MatMul`, at, flatten2d(g, `${name}/B/Reshape`, b));
}

/**
 * Y = A·B over [..., M, K]·[..., K, N]:  dA = dY·Bᵀ,  dB = Aᵀ·dY (batch dims reduced).
 * When B = Transpose(W) (torch Linear, the LM head, attention's Kᵀ) the gradient goes to W
 * directly: dA = dY·W and dW = dYᵀ·A, skipping the Transpose both ways.
 */
const matMul: GradRule = (c, n, [dy]) => {
  const { g, prefix: P } = c;
  const [a, b] = n.inputs as Value[];
  const w = transposedFrom(b);
  const twoD = (x: Value) => x.shape.length === 2;
  if (c.requiresGrad(a)) {
    const dA = w
      ? op.matMul(g, `${P}/dA/MatMul`, dy!, w)
      : op.matMul(g, `${P}/dA/MatMul`, dy!, op.transpose(g, `${P}/dA/Transpose`, b, swapLast(b.shape.length)));
    give(c, 'dA', a, () => dA);
  }
  if (w && c.requiresGrad(w)) {
    // dW = dYᵀ·A = (Aᵀ·dY)ᵀ: for a 2-D W fold the batch into one product, then transpose
    // [K, N] → [N, K] (cheaper than the product with the large dY transposed).
    const dW = twoD(w) && !twoD(a)
      ? op.transpose(g, `${P}/dW/Wt/Transpose`, aTb(g, `${P}/dW`, a, dy!), [1, 0])
      : op.matMul(g, `${P}/dW/MatMul`, op.transpose(g, `${P}/dW/Transpose`, dy!, swapLast(dy!.shape.length)), a);
    give(c, 'dW', w, () => dW);
  } else if (!w && c.requiresGrad(b)) {
    const dB = twoD(b) && !twoD(a)
      ? aTb(g, `${P}/dB`, a, dy!)
      : op.matMul(g, `${P}/dB/MatMul`, op.transpose(g, `${P}/dB/Transpose`, a, swapLast(a.shape.length)), dy!);
    give(c, 'dB', b, () => dB);
  }
};

const add: GradRule = (c, n, [dy]) => {
  give(c, 'dA', n.inputs[0], () => dy!);
  give(c, 'dB', n.inputs[1], () => dy!);
};

const sub: GradRule = (c, n, [dy]) => {
  give(c, 'dA', n.inputs[0], () => dy!);
  give(c, 'dB', n.inputs[1], () => op.neg(c.g, `${c.prefix}/dB/Neg`, dy!));
};

/** The x of Mul(x, σ(x)) or Mul(σ(x), x): SiLU, as SwiGLU's gate computes it. */
function siluInput(a: Value, b: Value): Value | undefined {
  const isSigmoidOf = (s: Value, x: Value) => s.producer?.opType === 'Sigmoid' && s.producer.inputs[0] === x;
  if (isSigmoidOf(b, a)) return a;
  if (isSigmoidOf(a, b)) return b;
  return undefined;
}

/**
 * Y = A·B: dA = dY·B, dB = dY·A. For SiLU, y = x·σ(x), both paths go to x at once,
 * dX = dY·(σ + y·(1 − σ)): four passes instead of six (each path's product, σ's slope and
 * the Add joining them), and σ's own rule is not reached through this product.
 */
const mul: GradRule = (c, n, [dy]) => {
  const [a, b] = n.inputs as Value[];
  const x = siluInput(a, b);
  if (x) {
    const { g, prefix: P } = c;
    const s = x === a ? b : a;
    give(c, 'dX', x, () => {
      const tail = op.mul(g, `${P}/silu/tail/Mul`, n.outputs[0], op.sub(g, `${P}/silu/one_s/Sub`, g.float32(1), s));
      return op.mul(g, `${P}/silu/dX/Mul`, dy!, op.add(g, `${P}/silu/slope/Add`, s, tail));
    });
    return;
  }
  give(c, 'dA', a, () => op.mul(c.g, `${c.prefix}/dA/Mul`, dy!, b));
  give(c, 'dB', b, () => op.mul(c.g, `${c.prefix}/dB/Mul`, dy!, a));
};

/** Y = A/B: dA = dY/B, dB = −dY·Y/B. */
const div: GradRule = (c, n, [dy]) => {
  const { g, prefix: P } = c;
  const [a, b] = n.inputs as Value[];
  give(c, 'dA', a, () => op.div(g, `${P}/dA/Div`, dy!, b));
  give(c, 'dB', b, () => op.neg(g, `${P}/dB/Neg`, op.div(g, `${P}/dB/Div`, op.mul(g, `${P}/dB/Mul`, dy!, n.outputs[0]), b)));
};

/** Y = A^B: dA = dY·B·A^(B−1) (B = 2: dY·2A), dB = dY·Y·ln A. */
const pow: GradRule = (c, n, [dy]) => {
  const { g, prefix: P } = c;
  const [a, b] = n.inputs as Value[];
  const two = g.constants.get(b.name)?.data;
  give(c, 'dA', a, () => {
    const slope = two && two.length === 1 && two[0] === 2
      ? op.mul(g, `${P}/dA/Slope/Mul`, a, g.float32(2))
      : op.mul(g, `${P}/dA/Slope/Mul`, b, op.pow(g, `${P}/dA/Pow`, a, op.sub(g, `${P}/dA/Sub`, b, g.float32(1))));
    return op.mul(g, `${P}/dA/Mul`, dy!, slope);
  });
  give(c, 'dB', b, () => {
    const ln = g.node('Log', `${P}/dB/Log`, [a], [{ dtype: a.dtype, shape: a.shape }])[0];
    return op.mul(g, `${P}/dB/Mul`, op.mul(g, `${P}/dB/Y/Mul`, dy!, n.outputs[0]), ln);
  });
};

/** Elementwise f with f' from (x, y): dX = dY · f'(x, y). */
function unaryRule(slope: (g: Graph, P: string, x: Value, y: Value) => Value): GradRule {
  return (c, n, [dy]) => {
    const x = n.inputs[0]!;
    give(c, 'dX', x, () => op.mul(c.g, `${c.prefix}/dX/Mul`, dy!, slope(c.g, c.prefix, x, n.outputs[0])));
  };
}

const neg: GradRule = (c, n, [dy]) => give(c, 'dX', n.inputs[0], () => op.neg(c.g, `${c.prefix}/dX/Neg`, dy!));
const identity: GradRule = (c, n, [dy]) => give(c, 'dX', n.inputs[0], () => dy!);

/** √x: dX = dY / (2Y). */
const sqrt: GradRule = (c, n, [dy]) =>
  give(c, 'dX', n.inputs[0], () =>
    op.div(c.g, `${c.prefix}/dX/Div`, op.mul(c.g, `${c.prefix}/dX/Mul`, dy!, c.g.float32(0.5)), n.outputs[0]));

/** tanh: 1 − Y². */
const tanh = unaryRule((g, P, _x, y) => op.sub(g, `${P}/slope/Sub`, g.float32(1), op.mul(g, `${P}/slope/Mul`, y, y)));
/** σ: Y·(1 − Y). */
const sigmoid = unaryRule((g, P, _x, y) => op.mul(g, `${P}/slope/Mul`, y, op.sub(g, `${P}/slope/Sub`, g.float32(1), y)));
const exp = unaryRule((_g, _P, _x, y) => y);
const cos = unaryRule((g, P, x) => op.neg(g, `${P}/slope/Neg`, op.sin(g, `${P}/slope/Sin`, x)));
const sin = unaryRule((g, P, x) => op.cos(g, `${P}/slope/Cos`, x));
/** ReLU: dX = dY where X > 0, else 0 (the kink at 0 gets slope 0, as torch's). */
const relu: GradRule = (c, n, [dy]) => {
  const { g, prefix: P } = c;
  const x = n.inputs[0]!;
  give(c, 'dX', x, () => op.where(g, `${P}/dX/Where`, op.greater(g, `${P}/dX/Greater`, x, g.float32(0)), dy!, g.float32(0)));
};
const log: GradRule = (c, n, [dy]) => give(c, 'dX', n.inputs[0], () => op.div(c.g, `${c.prefix}/dX/Div`, dy!, n.inputs[0]!));

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_K = 0.044715;

/**
 * GELU. tanh form, with ½(1 + tanh z) = σ(2z) and 1 − tanh² z = 4σ(1 − σ) (13 elementwise
 * passes instead of 17): u = 2c(x + k x³), S = σ(u),
 *   f' = ½(1 + t) + ½ x (1 − t²) c (1 + 3k x²) = S + S(1 − S) · x(2c + 6ck x²);
 * exact: f' = Φ(x) + x φ(x), Φ(x) = ½(1 + erf(x/√2)), φ(x) = e^(−x²/2)/√(2π).
 */
const gelu: GradRule = (c, n, [dy]) => {
  const approximate = n.attrs.approximate?.value === 'tanh';
  const slope = unaryRule((g, P, x) => {
    const m = (s: string, a: Value, b: Value) => op.mul(g, `${P}/slope/${s}/Mul`, a, b);
    const a = (s: string, x1: Value, x2: Value) => op.add(g, `${P}/slope/${s}/Add`, x1, x2);
    const f = (v: number) => g.float32(v);
    const x2 = m('x2', x, x);
    if (approximate) {
      const twoC = 2 * SQRT_2_OVER_PI;
      const s = op.sigmoid(g, `${P}/slope/Sigmoid`, m('u', x, a('u_poly', m('u_kx2', x2, f(twoC * GELU_K)), f(twoC))));
      const ds = m('ds', s, op.sub(g, `${P}/slope/one_s/Sub`, f(1), s));
      const poly = m('p', x, a('p_poly', m('p_kx2', x2, f(3 * twoC * GELU_K)), f(twoC)));
      return a('sum', s, m('right', ds, poly));
    }
    const erf = g.node('Erf', `${P}/slope/Erf`, [m('xs', x, f(Math.SQRT1_2))], [{ dtype: x.dtype, shape: x.shape }])[0];
    const cdf = m('cdf', a('one_erf', erf, f(1)), f(0.5));
    const gauss = g.node('Exp', `${P}/slope/Exp`, [m('nx2', x2, f(-0.5))], [{ dtype: x.dtype, shape: x.shape }])[0];
    return a('sum', cdf, m('pdf', m('x_gauss', x, gauss), f(1 / Math.sqrt(2 * Math.PI))));
  });
  slope(c, n, [dy]);
};

/** Softmax along `axis`: dX = Y·(dY − Σ_axis dY·Y). */
const softmax: GradRule = (c, n, [dy]) => {
  const { g, prefix: P } = c;
  const y = n.outputs[0];
  const axis = (n.attrs.axis?.value as number | undefined) ?? -1;
  const dot = op.reduceSum(g, `${P}/dX/ReduceSum`, op.mul(g, `${P}/dX/dYY/Mul`, dy!, y), [axis], true);
  give(c, 'dX', n.inputs[0], () => op.mul(g, `${P}/dX/Mul`, y, op.sub(g, `${P}/dX/Sub`, dy!, dot)));
};

/**
 * LayerNormalization over the last axis, reusing the forward's Mean and InvStdDev (the node
 * is given those optional outputs here, which ORT computes anyway):
 *   x̂ = (x − μ)·r;  dβ = Σ dY;  dγ = Σ dY·x̂;  B = dY·γ·r;  dX = B − mean(B) − x̂·mean(B·x̂).
 */
const layerNorm: GradRule = (c, n, [dy]) => {
  const { g, prefix: P } = c;
  const [x, scale, bias] = n.inputs as Value[];
  const axis = normAxis((n.attrs.axis?.value as number | undefined) ?? -1, x.shape.length);
  if (axis !== x.shape.length - 1) throw new Error(`LayerNormalization gradient supports the last axis only (${n.name})`);
  const stat = x.shape.map((d, i) => (i === axis ? 1 : d));
  while (n.outputs.length < 3) {
    n.outputs.push({ name: `${n.name}/output_${n.outputs.length}`, dtype: 'float32', shape: stat, kind: 'node', producer: n });
  }
  const [, mean, invStd] = n.outputs;
  const xhat = op.mul(g, `${P}/xhat/Mul`, op.sub(g, `${P}/xhat/Sub`, x, mean), invStd);
  give(c, 'dBias', bias, () => dy!);
  give(c, 'dScale', scale, () => op.mul(g, `${P}/dScale/Mul`, dy!, xhat));
  give(c, 'dX', x, () => {
    const b = op.mul(g, `${P}/dX/B/Mul`, op.mul(g, `${P}/dX/dYg/Mul`, dy!, scale), invStd);
    const meanB = op.reduceMean(g, `${P}/dX/meanB/ReduceMean`, b, [-1], true);
    const meanBx = op.reduceMean(g, `${P}/dX/meanBx/ReduceMean`, op.mul(g, `${P}/dX/Bx/Mul`, b, xhat), [-1], true);
    return op.sub(g, `${P}/dX/Sub2`, op.sub(g, `${P}/dX/Sub1`, b, meanB), op.mul(g, `${P}/dX/xhat/Mul`, xhat, meanBx));
  });
};

/**
 * RMSNorm as one kernel (SimplifiedLayerNormalization over the last axis, made by fusions.ts),
 * from its inv_std_var output r [..., 1]:
 *   x̂ = x·r;  dγ = Σ dY·x̂;  B = dY·γ;  dX = r·(B − x̂·mean(B·x̂)).
 */
const simplifiedLayerNorm: GradRule = (c, n, [dy]) => {
  const { g, prefix: P } = c;
  const [x, scale] = n.inputs as Value[];
  const axis = normAxis((n.attrs.axis?.value as number | undefined) ?? -1, x.shape.length);
  if (axis !== x.shape.length - 1 || n.outputs.length < 2) throw new Error(`SimplifiedLayerNormalization gradient needs the last axis and inv_std_var (${n.name})`);
  const invStd = n.outputs[1];
  const xhat = op.mul(g, `${P}/xhat/Mul`, x, invStd);
  give(c, 'dScale', scale, () => op.mul(g, `${P}/dScale/Mul`, dy!, xhat));
  give(c, 'dX', x, () => {
    const b = op.mul(g, `${P}/dX/B/Mul`, dy!, scale);
    const meanBx = op.reduceMean(g, `${P}/dX/meanBx/ReduceMean`, op.mul(g, `${P}/dX/Bx/Mul`, b, xhat), [-1], true);
    const centred = op.sub(g, `${P}/dX/Sub`, b, op.mul(g, `${P}/dX/xhat/Mul`, xhat, meanBx));
    return op.mul(g, `${P}/dX/Mul`, centred, invStd);
  });
};

/**
 * com.microsoft RotaryEmbedding (made by fusions.ts): a rotation of each (x₁, x₂) pair by its
 * position's angle, so dX rotates dY back by the same angle — the same op with the sine negated.
 * The caches depend on positions only, never on a parameter.
 */
const rotaryEmbedding: GradRule = (c, n, [dy]) => {
  const [x, rows, cos, sin] = n.inputs as Value[];
  if (c.requiresGrad(cos) || c.requiresGrad(sin)) throw new Error(`RotaryEmbedding gradient needs constant caches (${n.name})`);
  give(c, 'dX', x, () => {
    const negSin = op.neg(c.g, `${c.prefix}/sin/Neg`, sin);
    return c.g.node('RotaryEmbedding', `${c.prefix}/dX/RotaryEmbedding`, [dy!, rows, cos, negSin], [{ dtype: x.dtype, shape: x.shape }], n.attrs, n.domain)[0];
  });
};

/** Row lookup along axis 0: dData = ScatterND-add of dY at the indices (into the pending gradient, saving an Add). */
const gather: GradRule = (c, n, [dy]) => {
  const { g, prefix: P } = c;
  const [data, indices] = n.inputs as Value[];
  if (!c.requiresGrad(data)) return;
  if (((n.attrs.axis?.value as number | undefined) ?? 0) !== 0) throw new Error(`Gather gradient supports axis 0 only (${n.name})`);
  const idx64 = indices.dtype === 'int64' ? indices : op.cast(g, `${P}/indices/Cast`, indices, 'int64');
  const idx = op.unsqueeze(g, `${P}/indices/Unsqueeze`, idx64, [-1]);
  const base = c.pending(data) ?? zeros(g, `${P}/zeros`, data);
  const out = g.node('ScatterND', `${P}/ScatterND`, [base, idx, dy!], [{ dtype: data.dtype, shape: data.shape }], {
    reduction: attr.string('add'),
  })[0];
  c.replace(data, out);
};

const reshape: GradRule = (c, n, [dy]) => give(c, 'dX', n.inputs[0], () => reshapeTo(c.g, `${c.prefix}/dX/Reshape`, dy!, n.inputs[0]!.shape));
const unsqueeze = reshape;
const squeeze = reshape;

const transpose: GradRule = (c, n, [dy]) => {
  const perm = n.attrs.perm.value as number[];
  const inverse = perm.map((_, i) => perm.indexOf(i));
  give(c, 'dX', n.inputs[0], () => op.transpose(c.g, `${c.prefix}/dX/Transpose`, dy!, inverse));
};

/** Concat: each input gets its slab of dY (one Split). */
const concat: GradRule = (c, n, [dy]) => {
  const axis = n.attrs.axis.value as number;
  const inputs = n.inputs as Value[];
  const sizes = inputs.map((x) => staticShape(x)[normAxis(axis, x.shape.length)]);
  const parts = op.split(c.g, `${c.prefix}/dX/Split`, dy!, sizes, axis);
  inputs.forEach((x, i) => give(c, `dX${i}`, x, () => parts[i]));
};

/** Split: dX = Concat of the output gradients, zeros where an output does not reach the loss. */
const splitRule: GradRule = (c, n, dys) => {
  const axis = n.attrs.axis.value as number;
  const parts = n.outputs.map((o, i) => dys[i] ?? zeros(c.g, `${c.prefix}/dY${i}/zeros`, o));
  give(c, 'dX', n.inputs[0], () => op.concat(c.g, `${c.prefix}/dX/Concat`, parts, axis));
};

/** Slice with constant starts/ends/axes, step 1: dX = dY zero-padded back to x's shape. */
const slice: GradRule = (c, n, [dy]) => {
  const [x, startsV, endsV, axesV, stepsV] = n.inputs;
  const shape = staticShape(x!);
  const starts = constantData(c.g, startsV);
  const ends = constantData(c.g, endsV);
  const axes = axesV ? constantData(c.g, axesV) : starts.map((_, i) => i);
  if (stepsV && constantData(c.g, stepsV).some((s) => s !== 1)) throw new Error(`Slice gradient supports step 1 only (${n.name})`);
  const pads = new Array<number>(2 * shape.length).fill(0);
  axes.forEach((a, i) => {
    const ax = normAxis(a, shape.length);
    const dim = shape[ax];
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
    const s = clamp(starts[i]);
    const e = Math.max(s, clamp(ends[i]));
    pads[ax] = s;
    pads[shape.length + ax] = dim - e;
  });
  give(c, 'dX', x, () => c.g.node('Pad', `${c.prefix}/dX/Pad`, [dy!, c.g.int64(pads)], [{ dtype: x!.dtype, shape }])[0]);
};

/** ReduceSum/ReduceMean: dY broadcast back over the reduced axes (÷ count for the mean). */
function reduceRule(mean: boolean): GradRule {
  return (c, n, [dy]) => {
    const { g, prefix: P } = c;
    const x = n.inputs[0]!;
    const shape = staticShape(x);
    const axesV = n.inputs[1];
    const axes = (axesV ? constantData(g, axesV) : shape.map((_, i) => i)).map((a) => normAxis(a, shape.length));
    const keep = shape.map((d, i) => (axes.includes(i) ? 1 : d));
    give(c, 'dX', x, () => {
      let d = dy!.shape.length === shape.length ? dy! : reshapeTo(g, `${P}/dX/Reshape`, dy!, keep);
      if (mean) d = op.mul(g, `${P}/dX/Mul`, d, g.float32(1 / axes.reduce((p, a) => p * shape[a], 1)));
      return g.node('Expand', `${P}/dX/Expand`, [d, g.int64(shape)], [{ dtype: x.dtype, shape }])[0];
    });
  };
}

/** Where(cond, A, B): dA = dY where cond, dB = dY elsewhere. */
const where: GradRule = (c, n, [dy]) => {
  const { g, prefix: P } = c;
  const [cond, a, b] = n.inputs as Value[];
  const zero = g.float32(0);
  give(c, 'dA', a, () => op.where(g, `${P}/dA/Where`, cond, dy!, zero));
  give(c, 'dB', b, () => op.where(g, `${P}/dB/Where`, cond, zero, dy!));
};

const expand: GradRule = (c, n, [dy]) => give(c, 'dX', n.inputs[0], () => dy!);

const castRule: GradRule = (c, n, [dy]) => {
  const x = n.inputs[0]!;
  give(c, 'dX', x, () => (x.dtype === dy!.dtype ? dy! : op.cast(c.g, `${c.prefix}/dX/Cast`, dy!, x.dtype)));
};

/**
 * SoftmaxCrossEntropyLoss (reduction 'mean', scores [N, V], labels [N]) from its log-prob
 * output: dScores = (softmax − onehot(label))·dLoss/count, rows with ignore_index 0.
 */
const softmaxCrossEntropy: GradRule = (c, n, [dLoss]) => {
  const { g, prefix: P } = c;
  const [scores, labels] = n.inputs as Value[];
  if (n.attrs.reduction?.value !== 'mean') throw new Error(`SoftmaxCrossEntropyLoss gradient needs reduction 'mean' (${n.name})`);
  if (scores.shape.length !== 2) throw new Error(`SoftmaxCrossEntropyLoss gradient needs scores [N, V] (${n.name})`);
  if (n.outputs.length < 2) n.outputs.push({ name: `${n.name}/output_1`, dtype: 'float32', shape: scores.shape, kind: 'node', producer: n });
  const logProb = n.outputs[1];
  const N = scores.shape[0];
  const labels64 = labels.dtype === 'int64' ? labels : op.cast(g, `${P}/labels/Cast`, labels, 'int64');
  const ignore = n.attrs.ignore_index ? (n.attrs.ignore_index.value as number) : undefined;
  let valid: Value = g.float32(1);
  let safe = labels64;
  let count: Value | undefined;
  if (ignore !== undefined) ({ safe, valid, count } = countedRows(g, P, labels64, ignore));
  give(c, 'dScores', scores, () => {
    const probs = g.node('Exp', `${P}/probs/Exp`, [logProb], [{ dtype: 'float32', shape: logProb.shape }])[0];
    const validCol = ignore !== undefined ? op.unsqueeze(g, `${P}/valid/Unsqueeze`, valid, [1]) : valid;
    // −1 at each row's label (0 on ignored rows, whose scale is 0 anyway).
    const updates = ignore !== undefined
      ? op.neg(g, `${P}/onehot/Neg`, validCol)
      : g.constant('float32', [staticShape(labels)[0], 1], new Float32Array(staticShape(labels)[0]).fill(-1));
    const diff = g.node('ScatterElements', `${P}/onehot/ScatterElements`, [probs, op.unsqueeze(g, `${P}/labels/Unsqueeze`, safe, [1]), updates], [{ dtype: 'float32', shape: logProb.shape }], {
      axis: attr.int(1),
      reduction: attr.string('add'),
    })[0];
    const rowScale = op.mul(g, `${P}/scale/Mul`, op.div(g, `${P}/scale/Div`, validCol, count ?? g.float32(staticShape(labels)[0])), dLoss!);
    return op.mul(g, `${P}/dScores/Mul`, diff, rowScale);
  });
};

export const GRAD_RULES: Record<string, GradRule> = {
  MatMul: matMul,
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Pow: pow,
  Neg: neg,
  Sqrt: sqrt,
  Tanh: tanh,
  Sigmoid: sigmoid,
  Exp: exp,
  Log: log,
  Cos: cos,
  Sin: sin,
  Relu: relu,
  Gelu: gelu,
  Softmax: softmax,
  LayerNormalization: layerNorm,
  SimplifiedLayerNormalization: simplifiedLayerNorm,
  RotaryEmbedding: rotaryEmbedding,
  Gather: gather,
  Reshape: reshape,
  Unsqueeze: unsqueeze,
  Squeeze: squeeze,
  Transpose: transpose,
  Concat: concat,
  Split: splitRule,
  Slice: slice,
  ReduceSum: reduceRule(false),
  ReduceMean: reduceRule(true),
  Where: where,
  Expand: expand,
  Cast: castRule,
  Identity: identity,
  SoftmaxCrossEntropyLoss: softmaxCrossEntropy,
};
