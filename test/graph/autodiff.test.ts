/**
 * Every gradient rule against central finite differences, through ORT in float32.
 * Tolerance: |analytic − numeric| ≤ 1e-3 + 2e-2·|numeric| with step 1e-2 (float32 forward
 * differences carry ~1e-4 of rounding; second-order truncation is ~eps² = 1e-4 relative).
 */
import { describe, expect, it } from 'vitest';
import { attr, type Graph, type Value } from '../../src/graph/builder.js';
import { backward } from '../../src/graph/autodiff.js';
import { Graph as G } from '../../src/graph/builder.js';
import * as op from '../../src/graph/ops.js';
import { attention, applyRotary, rmsNorm, rotaryTables, linear } from '../../src/graph/layers.js';
import { gradCheck } from './gradcheck.js';

type Build = (g: Graph, p: Record<string, Value>) => Value;
type Params = Record<string, { shape: number[]; std?: number; data?: Float32Array }>;

const positive = (n: number) => Float32Array.from({ length: n }, (_, i) => 0.5 + ((i * 37) % 11) / 7);

const CASES: [string, Params, Build][] = [
  ['MatMul [B,T,K]·[K,N] (weight)', { a: { shape: [2, 3, 4] }, b: { shape: [4, 5] } }, (g, p) => op.matMul(g, '/m', p.a, p.b)],
  ['MatMul 4-D batched', { a: { shape: [2, 2, 3, 4] }, b: { shape: [2, 2, 4, 3] } }, (g, p) => op.matMul(g, '/m', p.a, p.b)],
  ['MatMul with broadcast batch', { a: { shape: [2, 3, 4] }, b: { shape: [1, 4, 2] } }, (g, p) => op.matMul(g, '/m', p.a, p.b)],
  ['linear (x·Wᵀ + b, torch layout)', { x: { shape: [2, 3, 4] }, w: { shape: [5, 4] }, b: { shape: [5] } }, (g, p) => linear(g, '/lin', p.x, p.w, p.b)],
  ['MatMul with Kᵀ (attention scores)', { q: { shape: [1, 2, 3, 4] }, k: { shape: [1, 2, 5, 4] } }, (g, p) =>
    op.matMul(g, '/m', p.q, op.transpose(g, '/t', p.k, [0, 1, 3, 2]))],
  ['Add with broadcasting', { a: { shape: [2, 3, 4] }, b: { shape: [4] } }, (g, p) => op.add(g, '/x', p.a, p.b)],
  ['Sub with broadcasting', { a: { shape: [2, 1, 4] }, b: { shape: [3, 1] } }, (g, p) => op.sub(g, '/x', p.a, p.b)],
  ['Mul with broadcasting', { a: { shape: [2, 3, 4] }, b: { shape: [2, 3, 1] } }, (g, p) => op.mul(g, '/x', p.a, p.b)],
  ['Div', { a: { shape: [2, 3] }, b: { shape: [2, 3], data: positive(6) } }, (g, p) => op.div(g, '/x', p.a, p.b)],
  ['Pow (square)', { a: { shape: [2, 3] } }, (g, p) => op.pow(g, '/x', p.a, g.float32(2))],
  ['Pow (general exponent)', { a: { shape: [2, 3], data: positive(6) }, b: { shape: [3], data: positive(3) } }, (g, p) => op.pow(g, '/x', p.a, p.b)],
  ['Neg', { a: { shape: [5] } }, (g, p) => op.neg(g, '/x', p.a)],
  ['Sqrt', { a: { shape: [5], data: positive(5) } }, (g, p) => op.sqrt(g, '/x', p.a)],
  ['Tanh', { a: { shape: [7] } }, (g, p) => op.tanh(g, '/x', p.a)],
  ['Sigmoid', { a: { shape: [7] } }, (g, p) => op.sigmoid(g, '/x', p.a)],
  // Values kept ≥ 0.1 from the kink, farther than the finite-difference step.
  ['Relu', { a: { shape: [2, 5], data: Float32Array.from([-1.3, 0.4, -0.2, 2.1, 0.15, -0.7, 1.1, -2.4, 0.3, -0.1]) } }, (g, p) =>
    op.relu(g, '/x', p.a)],
  ['Cos and Sin', { a: { shape: [6] } }, (g, p) => op.add(g, '/x', op.cos(g, '/c', p.a), op.sin(g, '/s', p.a))],
  ['Gelu (tanh)', { a: { shape: [3, 7], std: 2 } }, (g, p) => op.gelu(g, '/x', p.a, 'tanh')],
  ['Gelu (exact)', { a: { shape: [3, 7], std: 2 } }, (g, p) => op.gelu(g, '/x', p.a, 'none')],
  ['Softmax', { a: { shape: [2, 3, 5] } }, (g, p) => op.softmax(g, '/x', p.a, -1)],
  ['LayerNormalization', { x: { shape: [2, 3, 6] }, s: { shape: [6] }, b: { shape: [6] } }, (g, p) => op.layerNorm(g, '/x', p.x, p.s, p.b, 1e-5)],
  ['RMSNorm pieces', { x: { shape: [2, 3, 6] }, w: { shape: [6] } }, (g, p) => rmsNorm(g, '/x', p.x, p.w, 1e-6)],
  ['SimplifiedLayerNormalization (fused RMSNorm)', { x: { shape: [2, 3, 6] }, w: { shape: [6] } }, (g, p) =>
    g.node('SimplifiedLayerNormalization', '/x', [p.x, p.w], [{ dtype: 'float32', shape: [2, 3, 6] }, { dtype: 'float32', shape: [2, 3, 1] }], {
      axis: attr.int(-1), epsilon: attr.float(1e-6),
    })[0]],
  ['SiLU x·σ(x) (one rule for both paths)', { a: { shape: [3, 7], std: 2 } }, (g, p) => op.mul(g, '/x', p.a, op.sigmoid(g, '/s', p.a))],
  ['σ(x)·x with σ(x) read elsewhere too', { a: { shape: [3, 7], std: 2 } }, (g, p) => {
    const s = op.sigmoid(g, '/s', p.a);
    return op.add(g, '/sum', op.mul(g, '/x', s, p.a), op.mul(g, '/s2', s, s));
  }],
  ['RotaryEmbedding (fused RoPE)', { x: { shape: [2, 2, 3, 4] } }, (g, p) => {
    const cache = (f: (a: number) => number) => g.constant('float32', [3, 2], Float32Array.from({ length: 6 }, (_, i) => f(Math.floor(i / 2) * [1, 0.1][i % 2])));
    const rows = g.constant('int64', [2, 3], BigInt64Array.from([0n, 1n, 2n, 0n, 1n, 2n]), 'rows');
    return g.node('RotaryEmbedding', '/x', [p.x, rows, cache(Math.cos), cache(Math.sin)], [{ dtype: 'float32', shape: [2, 2, 3, 4] }], { interleaved: attr.int(0) }, 'com.microsoft')[0];
  }],
  ['Gather (repeated indices)', { e: { shape: [5, 3] } }, (g, p) => op.gather(g, '/x', p.e, g.constant('int64', [2, 3], BigInt64Array.from([1n, 4n, 1n, 0n, 1n, 2n]), 'ids'))],
  ['Reshape and Transpose', { a: { shape: [2, 6] } }, (g, p) => op.transpose(g, '/t', op.reshape(g, '/r', p.a, [2, 3, 2]), [2, 0, 1])],
  ['Concat', { a: { shape: [2, 3] }, b: { shape: [2, 2] } }, (g, p) => op.concat(g, '/x', [p.a, p.b, p.a], 1)],
  ['Split (one part unused)', { a: { shape: [2, 7] } }, (g, p) => {
    const [x, , z] = op.split(g, '/x', p.a, [2, 3, 2], 1);
    return op.mul(g, '/m', x, z);
  }],
  ['Slice', { a: { shape: [3, 5] } }, (g, p) => op.slice(g, '/x', p.a, [1, -4], [op.SLICE_END, 3], [0, 1])],
  ['Unsqueeze', { a: { shape: [3] } }, (g, p) => op.unsqueeze(g, '/x', p.a, [0, 2])],
  ['ReduceMean and ReduceSum', { a: { shape: [2, 3, 4] } }, (g, p) =>
    op.add(g, '/x', op.reduceMean(g, '/m', p.a, [-1], true), op.reduceSum(g, '/s', p.a, [1, 2], true))],
  ['ReduceSum without keepdims', { a: { shape: [2, 3, 4] } }, (g, p) => op.reduceSum(g, '/s', p.a, [1], false)],
  ['Where', { a: { shape: [2, 3] }, b: { shape: [3] } }, (g, p) =>
    op.where(g, '/x', g.constant('bool', [2, 3], Uint8Array.from([1, 0, 1, 0, 0, 1]), 'cond'), p.a, p.b)],
  ['Cast float→float', { a: { shape: [4] } }, (g, p) => op.cast(g, '/x', p.a, 'float32')],
  ['RoPE (rotate-half)', { x: { shape: [1, 2, 3, 4] } }, (g, p) =>
    applyRotary(g, '/rot', p.x, rotaryTables(g, '/rope', g.constant('int64', [1, 3], BigInt64Array.from([0n, 1n, 2n]), 'pos'), Float32Array.from([1, 0.1])))],
  ['grouped-query attention', { q: { shape: [1, 4, 3, 2] }, k: { shape: [1, 2, 3, 2] }, v: { shape: [1, 2, 3, 2] } }, (g, p) => {
    const bias = g.constant('float32', [1, 1, 3, 3], Float32Array.from([0, -1e9, -1e9, 0, 0, -1e9, 0, 0, 0]), 'bias');
    return attention(g, '/attn', p.q, p.k, p.v, bias, { numHeads: 4, numKvHeads: 2, headDim: 2 });
  }],
];

describe('gradient rules against central finite differences', () => {
  it.each(CASES)('%s', async (_name, params, build) => {
    const r = await gradCheck(params, build);
    expect(r.checked).toBeGreaterThan(0);
    expect(r.maxAbsGrad).toBeGreaterThan(1e-3);
    expect(r.worstExcess, r.worst).toBeLessThanOrEqual(0);
  });

  it('SoftmaxCrossEntropyLoss (mean, with ignored rows)', async () => {
    const labels = BigInt64Array.from([2n, -100n, 0n, 4n]);
    const r = await gradCheck({ s: { shape: [4, 5] } }, (g, p) =>
      g.node('SoftmaxCrossEntropyLoss', '/loss', [p.s, g.constant('int64', [4], labels, 'labels')], [{ dtype: 'float32', shape: [] }], {
        reduction: attr.string('mean'),
        ignore_index: attr.int(-100),
      })[0]);
    expect(r.worstExcess, r.worst).toBeLessThanOrEqual(0);
  });

  it('names a missing rule and rejects a non-scalar loss', () => {
    const g = new G();
    const a = g.param('a', [3]);
    const y = g.node('Abs', '/abs', [a], [{ dtype: 'float32', shape: [3] }])[0];
    const s = op.reduceSum(g, '/s', y, [0], false);
    expect(() => backward(g, s, [a])).toThrow(/no gradient rule for Abs \(\/abs\)/);
    expect(() => backward(g, y, [a])).toThrow(/scalar loss/);
  });
});
