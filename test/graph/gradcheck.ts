/**
 * Gradient checking through ORT: a graph's analytic gradients (from backward()) against
 * central finite differences of the same graph's float32 forward.
 */
import * as ort from 'onnxruntime-node';
import { Random } from '../../src/core/random.js';
import { backward } from '../../src/graph/autodiff.js';
import { Graph, type Value } from '../../src/graph/builder.js';
import { writeOnnx } from '../../src/graph/onnx-writer.js';
import * as op from '../../src/graph/ops.js';

export interface GradCheckOptions {
  /** Finite-difference step. */
  eps?: number;
  /** Pass when |analytic − numeric| ≤ atol + rtol·|numeric| for every element. */
  atol?: number;
  rtol?: number;
  seed?: number;
  /** Checks at most this many elements per parameter (spread over the tensor). */
  maxChecks?: number;
}

export interface GradCheckResult {
  /** Worst |analytic − numeric| − (atol + rtol·|numeric|) over all checked elements (≤ 0 passes). */
  worstExcess: number;
  worst: string;
  checked: number;
  /** Largest |analytic| seen, so a test can tell a zero gradient from a checked one. */
  maxAbsGrad: number;
}

/**
 * `build` emits a forward over `params` (float32 params named as keys) and returns its output;
 * the loss is Σ output·R with R a fixed random tensor, so every output element matters.
 */
export async function gradCheck(
  params: Record<string, { shape: number[]; data?: Float32Array; std?: number }>,
  build: (g: Graph, p: Record<string, Value>) => Value,
  options: GradCheckOptions = {},
): Promise<GradCheckResult> {
  const { eps = 1e-2, atol = 1e-3, rtol = 2e-2, seed = 7, maxChecks = 40 } = options;
  const rng = new Random(seed);
  const g = new Graph();
  const values: Record<string, Value> = {};
  const data: Record<string, Float32Array> = {};
  for (const [name, spec] of Object.entries(params)) {
    values[name] = g.param(name, spec.shape);
    data[name] = spec.data ?? rng.fillNormal(new Float32Array(spec.shape.reduce((a, b) => a * b, 1)), 0, spec.std ?? 1);
  }
  const y = build(g, values);
  const shape = y.shape as number[];
  const r = g.constant('float32', shape, rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)), 0, 1), '/check/R');
  const loss = op.reduceSum(g, '/check/ReduceSum', op.mul(g, '/check/Mul', y, r), shape.map((_, i) => i), false);
  g.output(loss, 'loss');
  const grads = backward(g, loss, Object.values(values));
  for (const [v, gv] of grads) g.output(gv, `grad.${v.name}`);

  const session = await ort.InferenceSession.create(writeOnnx(g, { weightsAs: 'inputs' }), { intraOpNumThreads: 1 });
  const feeds = () => Object.fromEntries(Object.entries(data).map(([n, d]) => [n, new ort.Tensor('float32', d, params[n].shape)]));
  const analytic = await session.run(feeds());
  const lossAt = async () => Number((await session.run(feeds(), ['loss'])).loss.data[0]);

  let worstExcess = -Infinity;
  let worst = '';
  let checked = 0;
  let maxAbsGrad = 0;
  for (const name of Object.keys(params)) {
    const d = data[name];
    const grad = analytic[`grad.${name}`].data as Float32Array;
    const stride = Math.max(1, Math.floor(d.length / maxChecks));
    for (let i = 0; i < d.length; i += stride) {
      const keep = d[i];
      d[i] = keep + eps;
      const up = await lossAt();
      d[i] = keep - eps;
      const down = await lossAt();
      d[i] = keep;
      const numeric = (up - down) / (2 * eps);
      const excess = Math.abs(grad[i] - numeric) - (atol + rtol * Math.abs(numeric));
      maxAbsGrad = Math.max(maxAbsGrad, Math.abs(grad[i]));
      checked++;
      if (excess > worstExcess) {
        worstExcess = excess;
        worst = `${name}[${i}]: analytic ${grad[i]}, numeric ${numeric}`;
      }
    }
  }
  await session.release();
  return { worstExcess, worst, checked, maxAbsGrad };
}
