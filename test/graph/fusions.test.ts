/**
 * The training rewrites (graph/fusions.ts): which chains become one kernel, which are left
 * alone, and that a fused graph computes what the unfused one does, forward and backward.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { backward } from '../../src/graph/autodiff.js';
import { Graph, type Value } from '../../src/graph/builder.js';
import { dropUnreadConstants, fuseForTraining } from '../../src/graph/fusions.js';
import { applyRotary, rmsNorm, rmsNormOnePlus, rotaryTables } from '../../src/graph/layers.js';
import { writeOnnx } from '../../src/graph/onnx-writer.js';
import * as op from '../../src/graph/ops.js';

/** RMSNorm → SiLU gate → RMSNorm(1 + γ), reduced to a scalar loss. */
function build(fuse: boolean): { g: Graph; params: Value[] } {
  const g = new Graph();
  const x = g.param('x', [2, 3, 8]);
  const w = g.param('w', [8]);
  const w2 = g.param('w2', [8]);
  const h = rmsNorm(g, '/norm', x, w, 1e-5);
  const silu = op.mul(g, '/act/Mul', h, op.sigmoid(g, '/act/Sigmoid', h));
  const y = rmsNormOnePlus(g, '/norm2', op.mul(g, '/gate/Mul', silu, x), w2, 1e-6);
  const r = g.constant('float32', [2, 3, 8], new Random(3).fillNormal(new Float32Array(48), 0, 1), '/R');
  const loss = op.reduceSum(g, '/loss/ReduceSum', op.mul(g, '/loss/Mul', y, r), [0, 1, 2], false);
  g.output(loss, 'loss');
  if (fuse) expect(fuseForTraining(g)).toEqual({ SimplifiedLayerNormalization: 2, RotaryEmbedding: 0 });
  const params = [x, w, w2];
  const grads = backward(g, loss, params);
  for (const p of params) g.output(grads.get(p)!, `grad.${p.name}`);
  dropUnreadConstants(g);
  return { g, params };
}

async function run(g: Graph): Promise<Record<string, Float32Array>> {
  const rng = new Random(5);
  const feeds = {
    x: new ort.Tensor('float32', rng.fillNormal(new Float32Array(48), 0, 1), [2, 3, 8]),
    w: new ort.Tensor('float32', rng.fillNormal(new Float32Array(8), 1, 0.3), [8]),
    w2: new ort.Tensor('float32', rng.fillNormal(new Float32Array(8), 0, 0.3), [8]),
  };
  const session = await ort.InferenceSession.create(writeOnnx(g, { weightsAs: 'inputs' }), { intraOpNumThreads: 1 });
  const out = await session.run(feeds);
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array]));
}

describe('training fusions', () => {
  it('RMSNorm chains become one kernel each, with the same loss and gradients', async () => {
    const fused = build(true);
    const ops = fused.g.nodes.map((n) => n.opType);
    expect(ops.filter((t) => t === 'SimplifiedLayerNormalization')).toHaveLength(2);
    expect(fused.g.nodes.some((n) => n.opType === 'Pow' || n.opType === 'Sqrt')).toBe(false);
    const [a, b] = await Promise.all([run(fused.g), run(build(false).g)]);
    for (const name of ['loss', 'grad.x', 'grad.w', 'grad.w2']) {
      expect(a[name].length).toBe(b[name].length);
      const scale = Math.max(...b[name].map(Math.abs));
      expect(scale).toBeGreaterThan(1e-3);
      a[name].forEach((v, i) => expect(Math.abs(v - b[name][i]), `${name}[${i}]`).toBeLessThan(1e-5 * Math.max(1, scale)));
    }
  });

  it('leaves a chain alone when one of its pieces is read elsewhere', () => {
    const g = new Graph();
    const x = g.param('x', [2, 4]);
    const h = rmsNorm(g, '/norm', x, g.param('w', [4]), 1e-5);
    g.output(h, 'h');
    g.output(h.producer!.inputs[0]!, 'normed');
    expect(fuseForTraining(g)).toEqual({ SimplifiedLayerNormalization: 0, RotaryEmbedding: 0 });
  });
});

describe('rotary fusion', () => {
  /** q [B,H,S,D] rotated by positions 3..3+S (a decode-like offset), scaled tables, then a loss. */
  function buildRope(fuse: boolean): Graph {
    const g = new Graph();
    const x = g.param('x', [2, 3, 4, 8]);
    const pos = g.constant('int64', [1, 4], BigInt64Array.from([3n, 4n, 5n, 6n]), '/pos');
    const rope = rotaryTables(g, '/rope', pos, Float32Array.from([1, 0.3, 0.1, 0.01]), { scale: 1.2 });
    const y = applyRotary(g, '/q_rotary', x, rope);
    const r = g.constant('float32', [2, 3, 4, 8], new Random(9).fillNormal(new Float32Array(192), 0, 1), '/R');
    const loss = op.reduceSum(g, '/loss/ReduceSum', op.mul(g, '/loss/Mul', y, r), [0, 1, 2, 3], false);
    g.output(loss, 'loss');
    if (fuse) expect(fuseForTraining(g)).toEqual({ SimplifiedLayerNormalization: 0, RotaryEmbedding: 1 });
    g.output(backward(g, loss, [x]).get(x)!, 'grad.x');
    dropUnreadConstants(g);
    return g;
  }

  it('applyRotary becomes one RotaryEmbedding with the same loss and gradient, its tables dropped', async () => {
    const fused = buildRope(true);
    expect(fused.nodes.filter((n) => n.opType === 'RotaryEmbedding')).toHaveLength(2);
    expect(fused.nodes.some((n) => n.opType === 'Split' || (n.opType === 'Neg' && !n.name.startsWith('/grad')))).toBe(false);
    const rng = new Random(2);
    const x = new ort.Tensor('float32', rng.fillNormal(new Float32Array(192), 0, 1), [2, 3, 4, 8]);
    const runOne = async (g: Graph) => {
      const s = await ort.InferenceSession.create(writeOnnx(g, { weightsAs: 'inputs' }), { intraOpNumThreads: 1 });
      const out = await s.run({ x });
      await s.release();
      return out;
    };
    const [a, b] = await Promise.all([runOne(fused), runOne(buildRope(false))]);
    expect(Number(a.loss.data[0])).toBeCloseTo(Number(b.loss.data[0]), 4);
    const ga = a['grad.x'].data as Float32Array;
    const gb = b['grad.x'].data as Float32Array;
    expect(Math.max(...gb.map(Math.abs))).toBeGreaterThan(0.1);
    ga.forEach((v, i) => expect(Math.abs(v - gb[i]), `grad.x[${i}]`).toBeLessThan(1e-5));
  });
});
