import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/graph/builder.js';
import { writeOnnx } from '../../src/graph/onnx-writer.js';
import * as op from '../../src/graph/ops.js';
import { broadcast, reshapeShape, sliceDim } from '../../src/graph/shapes.js';

const { onnx } = onnxProto;

describe('shape rules', () => {
  it('broadcasts numeric and symbolic dims', () => {
    expect(broadcast([2, 1, 4], [3, 1])).toEqual([2, 3, 4]);
    expect(broadcast(['batch', 1, 'seq', 'total_seq'], ['batch', 4, 'seq', 'total_seq'])).toEqual(['batch', 4, 'seq', 'total_seq']);
    expect(() => broadcast([2, 3], [4, 3])).toThrow(/cannot broadcast/);
  });
  it('reshape honours 0 and −1, numerically and symbolically', () => {
    expect(reshapeShape([2, 6, 8], [0, 0, 4, 2])).toEqual([2, 6, 4, 2]);
    expect(reshapeShape([2, 6, 8], [-1, 8])).toEqual([12, 8]);
    expect(reshapeShape(['batch', 'seq', 64], [0, 0, 4, 16])).toEqual(['batch', 'seq', 4, 16]);
    expect(reshapeShape(['batch', 'seq', 64], [-1, 64])).toEqual(['batch*seq', 64]);
  });
  it('slices static and "last n" symbolic dims', () => {
    expect(sliceDim(10, 2, 5, 1)).toBe(3);
    expect(sliceDim(10, -1, op.SLICE_END, 1)).toBe(1);
    expect(sliceDim('seq', -1, op.SLICE_END, 1)).toBe(1);
  });
});

describe('Graph', () => {
  it('records nodes with inputs, outputs, attributes and static shapes', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 'seq', 8]);
    const w = g.param('w', [8, 3]);
    const y = op.softmax(g, '/s/Softmax', op.matMul(g, '/mm/MatMul', x, w), -1);
    expect(y.shape).toEqual(['batch', 'seq', 3]);
    expect(g.nodes.map((n) => n.opType)).toEqual(['MatMul', 'Softmax']);
    expect(g.nodes[1].inputs[0]).toBe(g.nodes[0].outputs[0]);
    expect(g.nodes[1].attrs.axis).toEqual({ type: 'int', value: -1 });
    expect(y.producer).toBe(g.nodes[1]);
  });

  it('deduplicates constants by content and tied parameters by name', () => {
    const g = new Graph();
    expect(g.int64([0, 2, 1, 3])).toBe(g.int64([0, 2, 1, 3]));
    expect(g.float32(0.5)).not.toBe(g.float32([0.5]));
    expect(g.param('wte', [5, 4])).toBe(g.param('wte', [5, 4]));
    expect(() => g.param('wte', [4, 5])).toThrow(/declared as/);
    g.constant('float32', [2], Float32Array.of(1, 2), 'freq');
    expect(() => g.constant('float32', [2], Float32Array.of(1, 3), 'freq')).toThrow(/different contents/);
  });

  it('refuses duplicate node names', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    op.neg(g, '/a/Neg', x);
    expect(() => op.neg(g, '/a/Neg', x)).toThrow(/duplicate node name/);
  });

  it('names outputs in place, and passes inputs through Identity', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    const y = g.output(op.neg(g, '/n/Neg', x), 'y');
    expect(g.nodes[0].outputs[0].name).toBe('y');
    const z = g.output(x, 'z');
    expect(z.producer?.opType).toBe('Identity');
    expect(g.outputs.map((v) => v.name)).toEqual(['y', 'z']);
  });
});

describe('ONNX writer', () => {
  function smallGraph() {
    const g = new Graph();
    const ids = g.input('ids', 'int64', ['batch', 'seq']);
    const emb = g.param('emb', [5, 4]);
    const h = op.gather(g, '/emb/Gather', emb, ids);
    const scale = g.param('scale', [4]);
    const bias = g.param('bias', [4]);
    const y = op.layerNorm(g, '/ln/LayerNormalization', h, scale, bias, 1e-5);
    g.output(op.reduceSum(g, '/sum/ReduceSum', y, [-1], false), 'out');
    return g;
  }
  const weights = new Map([
    ['emb', { shape: [5, 4], data: Float32Array.from({ length: 20 }, (_, i) => (i * 7) % 5) }],
    ['scale', { shape: [4], data: Float32Array.of(1, 2, 3, 4) }],
    ['bias', { shape: [4], data: Float32Array.of(0, 0, 0, 1) }],
  ]);

  it('writes opset 20, symbolic dims and initializers', () => {
    const m = onnx.ModelProto.decode(writeOnnx(smallGraph(), { weights }));
    expect(m.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 20]]);
    expect(m.graph!.input.map((i) => i.name)).toEqual(['ids']);
    expect(m.graph!.input[0].type!.tensorType!.shape!.dim!.map((d) => d.dimParam)).toEqual(['batch', 'seq']);
    expect(m.graph!.initializer.map((t) => t.name).sort()).toEqual(['/const/int64/[-1]', 'bias', 'emb', 'scale']);
    expect(m.graph!.node.map((n) => n.name)).toEqual(['/emb/Gather', '/ln/LayerNormalization', '/sum/ReduceSum']);
  });

  it('declares parameters as inputs when asked, and both modes compute the same', async () => {
    const asInputs = onnx.ModelProto.decode(writeOnnx(smallGraph(), { weightsAs: 'inputs' }));
    expect(asInputs.graph!.input.map((i) => i.name)).toEqual(['ids', 'emb', 'scale', 'bias']);
    const ids = new ort.Tensor('int64', BigInt64Array.of(0n, 3n, 4n), [1, 3]);
    const a = await ort.InferenceSession.create(writeOnnx(smallGraph(), { weights }));
    const b = await ort.InferenceSession.create(writeOnnx(smallGraph(), { weightsAs: 'inputs' }));
    const ya = (await a.run({ ids })).out;
    const feeds: Record<string, ort.Tensor> = { ids };
    for (const [k, t] of weights) feeds[k] = new ort.Tensor('float32', t.data, t.shape);
    const yb = (await b.run(feeds)).out;
    expect(ya.dims).toEqual([1, 3]);
    expect(Array.from(yb.data as Float32Array)).toEqual(Array.from(ya.data as Float32Array));
    // Row 0 of emb is [0, 2, 4, 1]: normalised, scaled by [1,2,3,4], shifted by [0,0,0,1], summed.
    const row = [0, 2, 4, 1];
    const mean = 7 / 4;
    const sd = Math.sqrt(row.reduce((s, v) => s + (v - mean) ** 2, 0) / 4 + 1e-5);
    const want = row.reduce((s, v, i) => s + ((v - mean) / sd) * (i + 1), 0) + 1;
    expect((ya.data as Float32Array)[0]).toBeCloseTo(want, 4);
  });

  it('refuses missing or mis-shaped weights', () => {
    expect(() => writeOnnx(smallGraph(), { weights: new Map() })).toThrow(/no weights for parameter emb/);
    const bad = new Map(weights);
    bad.set('scale', { shape: [3], data: new Float32Array(3) });
    expect(() => writeOnnx(smallGraph(), { weights: bad })).toThrow(/scale has shape \[3\]/);
  });
});
