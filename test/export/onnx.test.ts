import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { buildDecoderGraph } from '../../src/models/architecture.js';
import { resolveArchitecture } from '../../src/models/index.js';
import { useMatMulNBits } from '../../src/export/matmul-nbits.js';
import { writeOnnxModel } from '../../src/export/onnx.js';
import { quantizedMatrices, quantizeWeights } from '../../src/transforms/quantize.js';
import { selectParameters } from '../../src/transforms/select.js';
import { DecoderSession } from '../../src/runtime/session.js';
import { TINY_LLAMA } from '../transforms/fixtures.js';

const { arch, cfg } = resolveArchitecture({ ...TINY_LLAMA, vocab_size: 40 });
const weights = arch.init(cfg, new Random(2));

describe('useMatMulNBits', () => {
  it('replaces each quantized Linear\'s Transpose+MatMul and drops the float weight', () => {
    const q = quantizeWeights(weights, selectParameters(arch.parameters(cfg), 'linear').map((spec) => ({ spec, bits: 4 as const })));
    const g = buildDecoderGraph(arch, cfg, { logits: 'all' });
    const before = g.nodes.filter((n) => n.opType === 'Transpose').length;
    const names = useMatMulNBits(g, quantizedMatrices(q.raw));
    expect(names).toHaveLength(14);
    const nbits = g.nodes.filter((n) => n.opType === 'MatMulNBits');
    expect(nbits).toHaveLength(14);
    expect(nbits[0]).toMatchObject({ domain: 'com.microsoft', name: '/model/layers.0/self_attn/q_proj/MatMulNBits' });
    expect(nbits[0].attrs).toEqual({ K: { type: 'int', value: 32 }, N: { type: 'int', value: 32 }, bits: { type: 'int', value: 4 }, block_size: { type: 'int', value: 32 }, accuracy_level: { type: 'int', value: 4 } });
    expect(g.nodes.filter((n) => n.opType === 'Transpose').length).toBe(before - 14);
    expect(g.params.has('model.layers.0.self_attn.q_proj.weight')).toBe(false);
    expect(g.params.has('lm_head.weight')).toBe(true);
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
