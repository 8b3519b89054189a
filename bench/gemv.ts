/**
 * The memory-streaming ceiling decode benchmarks divide by: a plain ORT GEMV [1, K] @ [K, N]
 * whose weight (an initializer) has the given number of bytes, run in the same process.
 */
import * as ort from 'onnxruntime-node';
import { Random } from '../src/core/random.js';
import { Graph } from '../src/graph/builder.js';
import { writeOnnx } from '../src/graph/onnx-writer.js';
import * as op from '../src/graph/ops.js';

/** Bytes per second a float32 GEMV over `bytes` of weights streams with `threads` threads. */
export async function gemvBytesPerSecond(bytes: number, threads: number): Promise<number> {
  const K = 768;
  const N = Math.round(bytes / 4 / K);
  const g = new Graph();
  const x = g.input('x', 'float32', [1, K]);
  const w = g.param('w', [K, N]);
  g.output(op.matMul(g, '/MatMul', x, w), 'y');
  const data = new Random(1).fillNormal(new Float32Array(K * N), 0, 0.02);
  const options = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const };
  const session = await ort.InferenceSession.create(writeOnnx(g, { weights: new Map([['w', { shape: [K, N], data }]]) }), options);
  const feeds = { x: new ort.Tensor('float32', new Float32Array(K).fill(0.5), [1, K]) };
  for (let i = 0; i < 5; i++) await session.run(feeds);
  const runs = 40;
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await session.run(feeds);
  const seconds = (performance.now() - t0) / 1000;
  await session.release();
  return (K * N * 4 * runs) / seconds;
}
