import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { buildDecoderGraph } from '../../src/models/architecture.js';
import { resolveArchitecture } from '../../src/models/index.js';
import { useQuantizedOps } from '../../src/export/quantized-ops.js';
import { writeOnnxModel } from '../../src/export/onnx.js';
import { halfToNumber, quantizedMatrices, quantizeWeights } from '../../src/transforms/quantize.js';
import { Graph } from '../../src/graph/builder.js';
import { writeOnnx } from '../../src/graph/onnx-writer.js';
import * as op from '../../src/graph/ops.js';
import { selectParameters } from '../../src/transforms/select.js';
import { DecoderSession } from '../../src/runtime/session.js';
import { TINY_LLAMA } from '../transforms/fixtures.js';

const { arch, cfg } = resolveArchitecture({ ...TINY_LLAMA, vocab_size: 40 });
const weights = arch.init(cfg, new Random(2));

describe('useQuantizedOps', () => {
  it('replaces each quantized Linear\'s Transpose+MatMul and drops the float weight', () => {
    const q = quantizeWeights(weights, selectParameters(arch.parameters(cfg), 'linear').map((spec) => ({ spec, bits: 4 as const })));
    const g = buildDecoderGraph(arch, cfg, { logits: 'all' });
    const before = g.nodes.filter((n) => n.opType === 'Transpose').length;
    const names = useQuantizedOps(g, quantizedMatrices(q.raw));
    expect(names).toHaveLength(14);
    const nbits = g.nodes.filter((n) => n.opType === 'MatMulNBits');
    expect(nbits).toHaveLength(14);
    expect(nbits[0]).toMatchObject({ domain: 'com.microsoft', name: '/model/layers.0/self_attn/q_proj/MatMulNBits' });
    expect(nbits[0].attrs).toEqual({ K: { type: 'int', value: 32 }, N: { type: 'int', value: 32 }, bits: { type: 'int', value: 4 }, block_size: { type: 'int', value: 32 }, accuracy_level: { type: 'int', value: 4 } });
    expect(g.nodes.filter((n) => n.opType === 'Transpose').length).toBe(before - 14);
    expect(g.params.has('model.layers.0.self_attn.q_proj.weight')).toBe(false);
    expect(g.params.has('lm_head.weight')).toBe(true);
  });

  it('runs 8-bit weights through DynamicQuantizeMatMul, and a tied embedding\'s rows from the head\'s columns, close to the dequantized model', async () => {
    const gpt2 = resolveArchitecture({ model_type: 'gpt2', vocab_size: 50, n_positions: 32, n_embd: 64, n_layer: 2, n_head: 4 });
    const params = gpt2.arch.parameters(gpt2.cfg);
    const targets = [...selectParameters(params, 'linear'), params.find((p) => p.role === 'token_embedding')!].map((spec) => ({ spec, bits: 8 as const }));
    const q = quantizeWeights(gpt2.arch.init(gpt2.cfg, new Random(5)), targets);
    const quantized = quantizedMatrices(q.raw);
    const g = buildDecoderGraph(gpt2.arch, gpt2.cfg, { logits: 'all' });
    useQuantizedOps(g, quantized);
    // Four products a layer and the tied head; the embedding is gathered from the same columns.
    const products = g.nodes.filter((n) => n.opType === 'DynamicQuantizeMatMul');
    expect(products).toHaveLength(9);
    // Each layer's Conv1D bias is the kernel's bias input, not an Add after it; the head has none.
    expect(products.filter((n) => n.inputs.length === 5 && n.inputs[4]?.name.endsWith('.bias'))).toHaveLength(8);
    expect(g.nodes.some((n) => n.opType === 'Add' && n.name.endsWith('c_attn/Add'))).toBe(false);
    expect(g.nodes.some((n) => n.opType === 'MatMulNBits')).toBe(false);
    expect(g.params.has('transformer.wte.weight')).toBe(false);
    const columns = g.nodes.filter((n) => n.inputs.some((v) => v?.name === 'transformer.wte.weight.columns')).map((n) => n.opType);
    expect(columns.sort()).toEqual(['DynamicQuantizeMatMul', 'Gather']);

    const ids = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
    const ints = await DecoderSession.create(gpt2.arch, gpt2.cfg, q.dequantized, { logits: 'all', quantized, threads: 1 });
    const floats = await DecoderSession.create(gpt2.arch, gpt2.cfg, q.dequantized, { logits: 'all', threads: 1 });
    const a = await ints.prefill(ids);
    const b = await floats.prefill(ids);
    const scale = Math.max(...b.map(Math.abs));
    const diff = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
    expect(diff).toBeGreaterThan(0); // the activations are rounded…
    expect(diff).toBeLessThan(0.02 * scale); // …to 8 bits, not garbled
    await ints.release();
    await floats.release();

    // The gathered rows themselves: each value within half a step of its row's scale (the
    // largest block scale) of the dequantized table.
    const table = gpt2.arch.parameters(gpt2.cfg).find((p) => p.role === 'token_embedding')!;
    const lookup = new Graph();
    const at = lookup.input('ids', 'int64', [1, 'seq']);
    lookup.output(op.gather(lookup, '/wte/Gather', lookup.param(table.name, table.shape), at), 'rows');
    useQuantizedOps(lookup, quantized);
    const session = await ort.InferenceSession.create(writeOnnx(lookup, { weights: new Map() }));
    const rows = (await session.run({ ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]) })).rows.data as Float32Array;
    const deq = q.dequantized.get(table.name)!.data;
    const m = quantized.get(table.name)!;
    const [, K] = table.shape;
    ids.forEach((id, r) => {
      let top = 0;
      for (let b = 0; b < K / 32; b++) top = Math.max(top, Math.abs(halfToNumber(m.scales[id * (K / 32) + b])));
      for (let k = 0; k < K; k++) expect(Math.abs(rows[r * K + k] - deq[id * K + k])).toBeLessThanOrEqual(top / 2 + 1e-7);
    });
    await session.release();
  });
});

describe('writeOnnxModel', () => {
  it('moves the weights to model.onnx_data past the threshold; ORT loads it with the same logits', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-onnx-'));
    const { files } = writeOnnxModel(dir, { arch, cfg, weights, quantized: new Map() }, { externalAbove: 0 });
    expect(files).toEqual(['onnx/model.onnx', 'onnx/model.onnx_data']);
    expect(fs.statSync(path.join(dir, 'onnx', 'model.onnx')).size).toBeLessThan(fs.statSync(path.join(dir, 'onnx', 'model.onnx_data')).size);
    const s = await ort.InferenceSession.create(path.join(dir, 'onnx', 'model.onnx'));
    const ids = [1, 7, 3];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, 3]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(3).fill(1n), [1, 3]),
      position_ids: new ort.Tensor('int64', BigInt64Array.of(0n, 1n, 2n), [1, 3]),
    };
    for (let i = 0; i < cfg.numLayers; i++) for (const kv of ['key', 'value']) feeds[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, cfg.numKvHeads, 0, cfg.headDim]);
    const got = (await s.run(feeds)).logits.data as Float32Array;
    await s.release();
    const session = await DecoderSession.create(arch, cfg, weights, { logits: 'all', threads: 1 });
    const want = await session.prefill(ids);
    await session.release();
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 4));
  });
});
