/**
 * Whole-model gradients of the training graph (forward without cache + mean cross-entropy +
 * backward) against central finite differences of its own loss, for tiny GPT-2 and LLaMA
 * models (GQA, tied and untied heads). Step 1e-2 in float32; tolerance per element
 * |analytic − numeric| ≤ 3e-4 + 3e-2·|numeric| (float32 loss rounding is ~1e-4 of the quotient).
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { writeOnnx } from '../../src/graph/onnx-writer.js';
import { gpt2Reference, type Gpt2Config } from '../../src/models/gpt2.js';
import { buildTrainingGraph } from '../../src/runtime/training-graph.js';
import { tinyModel, TINY_CONFIGS } from '../models/tiny.js';

const B = 2;
const T = 5;

describe('training graph', () => {
  // Every tiny config: a new family's gradients are checked by adding its config.
  it.each(Object.keys(TINY_CONFIGS).map((name) => [name]))('%s: every parameter gradient matches finite differences', async (name) => {
    const { arch, cfg, weights } = tinyModel(TINY_CONFIGS[name], 3);
    const { graph } = buildTrainingGraph(arch, cfg, { batchSize: B, seqLength: T, gradients: true });
    expect(graph.nodes.some((n) => n.opType === 'Concat' && n.name.includes('present'))).toBe(false);
    const session = await ort.InferenceSession.create(writeOnnx(graph, { weightsAs: 'inputs' }), { intraOpNumThreads: 1 });
    const rng = new Random(11);
    const ids = BigInt64Array.from({ length: B * T }, () => BigInt(rng.int(cfg.vocabSize)));
    const targets = BigInt64Array.from({ length: B * T }, () => BigInt(rng.int(cfg.vocabSize)));
    targets[3] = -100n;
    const feeds = () => {
      const f: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', ids, [B, T]),
        targets: new ort.Tensor('int64', targets, [B * T]),
      };
      for (const [n, t] of weights) f[n] = new ort.Tensor('float32', t.data, t.shape);
      return f;
    };
    const out = await session.run(feeds());
    const lossAt = async () => Number((await session.run(feeds(), ['loss'])).loss.data[0]);
    const eps = 1e-2;
    let worst = -Infinity;
    let where = '';
    let checked = 0;
    for (const [pname, t] of weights) {
      const grad = out[`grad.${pname}`].data as Float32Array;
      expect(grad.length).toBe(t.data.length);
      // The elements with the largest gradients, plus a spread of others.
      const order = Array.from(grad.keys()).sort((a, b) => Math.abs(grad[b]) - Math.abs(grad[a]));
      const pick = [...order.slice(0, 3), ...order.filter((_, i) => i % Math.max(1, Math.floor(order.length / 3)) === 0).slice(0, 3)];
      for (const i of pick) {
        const keep = t.data[i];
        t.data[i] = keep + eps;
        const up = await lossAt();
        t.data[i] = keep - eps;
        const down = await lossAt();
        t.data[i] = keep;
        const numeric = (up - down) / (2 * eps);
        const excess = Math.abs(grad[i] - numeric) - (3e-4 + 3e-2 * Math.abs(numeric));
        checked++;
        if (excess > worst) {
          worst = excess;
          where = `${pname}[${i}]: analytic ${grad[i]}, numeric ${numeric}`;
        }
      }
    }
    await session.release();
    expect(checked).toBeGreaterThan(50);
    expect(worst, where).toBeLessThanOrEqual(0);
  });

  it('loss is the mean −log softmax at the targets over the rows not ignored, LogSoftmax on the last axis', async () => {
    const { cfg, weights, arch } = tinyModel(TINY_CONFIGS['gpt2 (tied)'], 5);
    const { graph } = buildTrainingGraph(arch, cfg, { batchSize: B, seqLength: T, gradients: false });
    expect(graph.nodes.some((n) => n.opType === 'SoftmaxCrossEntropyLoss')).toBe(false);
    const ls = graph.nodes.find((n) => n.opType === 'LogSoftmax')!;
    expect(ls.attrs.axis.value).toBe(ls.inputs[0]!.shape.length - 1);
    const session = await ort.InferenceSession.create(writeOnnx(graph, { weightsAs: 'inputs' }), { intraOpNumThreads: 1 });
    const rng = new Random(4);
    const ids = Array.from({ length: B * T }, () => rng.int(cfg.vocabSize));
    const targets = ids.map((_, i) => (i % 4 === 1 ? -100 : rng.int(cfg.vocabSize)));
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [B, T]),
      targets: new ort.Tensor('int64', BigInt64Array.from(targets, BigInt), [B * T]),
    };
    for (const [n, t] of weights) feeds[n] = new ort.Tensor('float32', t.data, t.shape);
    const loss = Number((await session.run(feeds)).loss.data[0]);
    await session.release();
    let sum = 0;
    let count = 0;
    const V = cfg.vocabSize;
    for (let b = 0; b < B; b++) {
      const logits = gpt2Reference(cfg as unknown as Gpt2Config, weights, ids.slice(b * T, (b + 1) * T));
      for (let t = 0; t < T; t++) {
        const target = targets[b * T + t];
        if (target === -100) continue;
        const row = logits.subarray(t * V, (t + 1) * V);
        const max = Math.max(...row);
        const lse = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
        sum += lse - row[target];
        count++;
      }
    }
    expect(loss).toBeCloseTo(sum / count, 4);
  });
});
