/**
 * The MatMul FLOP/s ORT reaches on this machine: bench:train's ceiling for MFU.
 *
 * It runs in a child process of the bench so that its sessions' memory is not counted as the
 * trainer's, and the bench samples it between training steps so that both see the same machine:
 * on a shared VM this rate drifts (111–169 GFLOP/s within 20 s here, median 142), so a best-of
 * taken at another moment measures luck as much as it measures the trainer.
 *
 * The rate depends on the shape: sustained over seconds, the LM head's [1024,768]·[768,50257]
 * ran ~10 % faster here than the MLP's [1024,768]·[768,3072], so the bench measures each of the
 * model's product shapes and takes the fastest as the ceiling.
 *
 * As a child: argv `threads`; each message (a Sample) is answered with `{ rates }`, the FLOP/s
 * of each timed run.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { Random } from '../src/core/random.js';
import { Graph } from '../src/graph/builder.js';
import { writeOnnx } from '../src/graph/onnx-writer.js';
import * as op from '../src/graph/ops.js';

/** A product [M,K]·[K,N]. */
export type Shape = [M: number, K: number, N: number];

/** At least `runs` timed runs of `shape`, for at least `ms` milliseconds. */
export interface Sample {
  shape: Shape;
  runs?: number;
  ms?: number;
}

/** FLOPs per timed run: enough (≥ 20 GFLOP) that one run is long next to its overhead. */
const RUN_FLOPS = 2e10;

/**
 * A chain of [M,K]·[K,N] and [M,N]·[N,K] products ending in a scalar, operands fed as inputs
 * as training feeds its weights, so neither output copies nor feeds count: kernel rate.
 */
async function chainSession([M, K, N]: Shape, threads: number) {
  const chain = 2 * Math.ceil(RUN_FLOPS / (2 * 2 * M * K * N));
  const g = new Graph();
  const up = g.input('up', 'float32', [K, N]);
  const down = g.input('down', 'float32', [N, K]);
  let x = g.input('x', 'float32', [M, K]);
  for (let i = 0; i < chain; i++) x = op.matMul(g, `/MatMul_${i}`, x, i % 2 === 0 ? up : down);
  g.output(op.reduceSum(g, '/ReduceSum', x, [0, 1], false), 'y');
  const session = await ort.InferenceSession.create(writeOnnx(g), { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const rng = new Random(1);
  const feeds = {
    x: new ort.Tensor('float32', rng.fillNormal(new Float32Array(M * K), 0, 1), [M, K]),
    // Scaled so activations stay O(1) through the chain (no overflow, no denormals).
    up: new ort.Tensor('float32', rng.fillNormal(new Float32Array(K * N), 0, 1 / Math.sqrt(K)), [K, N]),
    down: new ort.Tensor('float32', rng.fillNormal(new Float32Array(N * K), 0, 1 / Math.sqrt(N)), [N, K]),
  };
  const flops = chain * 2 * M * K * N;
  for (let i = 0; i < 2; i++) await session.run(feeds);
  return async ({ runs = 1, ms = 0 }: Sample): Promise<number[]> => {
    const rates: number[] = [];
    const start = performance.now();
    while (rates.length < runs || performance.now() - start < ms) {
      const t0 = performance.now();
      await session.run(feeds);
      rates.push(flops / ((performance.now() - t0) / 1000));
    }
    return rates;
  };
}

/** Throughput of equal pieces of work timed at these rates: total work ÷ total time. */
export const throughput = (rates: number[]): number => rates.length / rates.reduce((s, r) => s + 1 / r, 0);

/** The parent's handle on the child. */
export class MatMulCeiling {
  private constructor(private readonly child: ChildProcess) {}

  /** Starts the child (same node, same environment). */
  static async start(threads: number): Promise<MatMulCeiling> {
    const ceiling = new MatMulCeiling(fork(new URL(import.meta.url).pathname, [String(threads)], { stdio: 'inherit' }));
    await ceiling.reply();
    return ceiling;
  }

  /** FLOP/s of each timed run, in order. */
  async sample(sample: Sample): Promise<number[]> {
    const answer = this.reply();
    this.child.send(sample);
    return ((await answer) as { rates: number[] }).rates;
  }

  /**
   * The shape ORT runs fastest, sustained: each measured for `ms` in turns (twice, so that a
   * burst of load on the machine does not decide it), with every shape's throughput.
   */
  async fastest(shapes: Shape[], ms: number): Promise<{ shape: Shape; rates: Map<Shape, number[]> }> {
    const rates = new Map(shapes.map((s) => [s, [] as number[]]));
    for (let turn = 0; turn < 2; turn++) for (const shape of shapes) rates.get(shape)!.push(...(await this.sample({ shape, ms: ms / 2 })));
    const [shape] = [...rates].sort((a, b) => throughput(b[1]) - throughput(a[1]))[0];
    return { shape, rates };
  }

  close(): void {
    this.child.disconnect();
  }

  /** The child's next message; an error if it exits first. */
  private reply(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const exited = (code: number | null) => reject(new Error(`the matmul ceiling process exited (${code})`));
      this.child.once('exit', exited);
      this.child.once('message', (m) => {
        this.child.off('exit', exited);
        resolve(m);
      });
    });
  }
}

if (process.send && process.argv[1] === new URL(import.meta.url).pathname) {
  const threads = Number(process.argv[2]);
  const sessions = new Map<string, Awaited<ReturnType<typeof chainSession>>>();
  process.on('message', async (m) => {
    const sample = m as Sample;
    const key = sample.shape.join('x');
    if (!sessions.has(key)) sessions.set(key, await chainSession(sample.shape, threads));
    process.send!({ rates: await sessions.get(key)!(sample) });
  });
  process.send({ ready: true });
}
