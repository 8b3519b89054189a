/**
 * Full fine-tuning speed of random gpt2-shaped models (768 wide, 50257 vocab, fp32, 4 and 12
 * layers, batch 8 × 128 by default), against the MatMul FLOP/s ORT reaches on this machine in
 * the same run (kernel rate: a chain of products, no output copies). One JSON object per line:
 *   {"bench":"train","measurement":"matmul","m":1024,"k":768,"n":3072,"flops_per_s":…}
 *   {"bench":"train","measurement":"peer","peer":"pytorch 1.13.1 eager","layers":12,"tokens_per_s":…,"peak_rss_mb":…}
 *   {"bench":"train","measurement":"train","layers":12,"tokens_per_s":…,"mfu":…,"peak_rss_mb":…,
 *    "speedup_vs_pytorch":…,"memory_vs_pytorch":…}
 * (peak_rss_mb is the process's peak so far, so a later, larger model reports its own.)
 *
 * Model FLOPs per token follow nanoGPT's estimate_mfu (the PaLM appendix B count):
 * 6·N + 12·L·T·C, with N the parameters less the position embeddings (the tied token embedding
 * counts once, as the LM head's matmul) and 12·L·T·C the attention score and context matmuls,
 * forward and backward. mfu = model FLOP/s (mean step) ÷ the best MatMul FLOP/s measured
 * before and after the run; mfu_best uses the fastest step (the machine is shared, so both).
 *
 * It runs in a process started with smox's glibc malloc settings (runtime/allocator-tuning.ts),
 * relaunching itself when started without them, so it measures what `smox train/finetuner`
 * runs; --default-allocator measures without them.
 *
 * Usage: npm run build && npm run bench:train [-- --layers 4 --steps 4 --warmup 2 --batch 8 --seq 128 --threads 2 --no-peer --default-allocator]
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { Random } from '../src/core/random.js';
import { Graph } from '../src/graph/builder.js';
import { writeOnnx } from '../src/graph/onnx-writer.js';
import * as op from '../src/graph/ops.js';
import { gpt2 } from '../src/models/gpt2.js';
import { numel } from '../src/models/tensor.js';
import { allocatorTuned, GLIBC_MALLOC_TUNABLES } from '../src/runtime/allocator-tuning.js';
import { Trainer } from '../src/runtime/trainer.js';
import { trainingMemoryBytes } from '../src/runtime/training-memory.js';
import { buildTrainingGraph } from '../src/runtime/training-graph.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const LAYERS = (flag('layers') ?? '4,12').split(',').map(Number);
const STEPS = Number(flag('steps') ?? 4);
const WARMUP = Number(flag('warmup') ?? 2);
const BATCH = Number(flag('batch') ?? 8);
const SEQ = Number(flag('seq') ?? 128);
const THREADS = Number(flag('threads') ?? os.availableParallelism());
const DEFAULT_ALLOCATOR = process.argv.includes('--default-allocator');

if (process.platform === 'linux' && !DEFAULT_ALLOCATOR && !allocatorTuned()) {
  const env = { ...process.env, GLIBC_TUNABLES: GLIBC_MALLOC_TUNABLES };
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  process.exit(r.status ?? 1);
}

/**
 * Kernel FLOP/s of ORT's MatMul at [M,K]·[K,N] (and back, [M,N]·[N,K]), operands fed as inputs
 * as training feeds weights: a chain of 8 products ending in a scalar, so neither output
 * copies nor feeds count; best of 10 runs.
 */
async function matMulFlopsPerSecond(M: number, K: number, N: number): Promise<number> {
  const CHAIN = 8;
  const g = new Graph();
  const up = g.input('up', 'float32', [K, N]);
  const down = g.input('down', 'float32', [N, K]);
  let x = g.input('x', 'float32', [M, K]);
  for (let i = 0; i < CHAIN; i++) x = op.matMul(g, `/MatMul_${i}`, x, i % 2 === 0 ? up : down);
  g.output(op.reduceSum(g, '/ReduceSum', x, [0, 1], false), 'y');
  const session = await ort.InferenceSession.create(writeOnnx(g), { intraOpNumThreads: THREADS, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const rng = new Random(1);
  const feeds = {
    x: new ort.Tensor('float32', rng.fillNormal(new Float32Array(M * K), 0, 1), [M, K]),
    // Scaled so activations stay O(1) through the chain (no overflow, no denormals).
    up: new ort.Tensor('float32', rng.fillNormal(new Float32Array(K * N), 0, 1 / Math.sqrt(K)), [K, N]),
    down: new ort.Tensor('float32', rng.fillNormal(new Float32Array(N * K), 0, 1 / Math.sqrt(N)), [N, K]),
  };
  for (let i = 0; i < 3; i++) await session.run(feeds);
  let best = Infinity;
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    best = Math.min(best, performance.now() - t0);
  }
  await session.release();
  return (CHAIN * 2 * M * K * N) / (best / 1000);
}

interface PeerRun {
  tokens_per_s: number;
  peak_rss_mb: number;
}

/**
 * The PyTorch peer (bench/peers/torch_train.py) on the same shape, batch and threads, in its
 * own process so its memory is its own; null (with a line saying why) when python3 cannot
 * import torch (Debian: apt-get install python3-torch libopenblas0-pthread) or --no-peer.
 */
function peerRun(layers: number): PeerRun | null {
  if (process.argv.includes('--no-peer')) return null;
  const script = new URL('../../bench/peers/torch_train.py', import.meta.url).pathname;
  const args = [script, '--layers', String(layers), '--steps', String(STEPS), '--warmup', String(WARMUP), '--batch', String(BATCH), '--seq', String(SEQ), '--threads', String(THREADS)];
  // PyTorch runs as its users run it: with glibc's default malloc (it caches its own tensors).
  const { GLIBC_TUNABLES: _ours, ...env } = process.env;
  // Debian's python3-torch lives in the system python, which a pyenv or venv python3 shadows.
  let r = spawnSync('python3', args, { encoding: 'utf8', env });
  if (r.status !== 0) r = spawnSync('/usr/bin/python3', args, { encoding: 'utf8', env });
  const line = r.status === 0 ? r.stdout.trim().split('\n').at(-1) : undefined;
  if (!line) {
    const why = r.error ? r.error.message : (r.stderr || '').trim().split('\n').at(-1);
    console.log(JSON.stringify({ bench: 'train', measurement: 'peer', layers, skipped: `pytorch peer did not run: ${why}` }));
    return null;
  }
  console.log(line);
  return JSON.parse(line) as PeerRun;
}

async function trainRun(layers: number, matmulFlops: number): Promise<number> {
  const peer = peerRun(layers);
  const cfg = gpt2.normalizeConfig({ model_type: 'gpt2', n_layer: layers });
  const params = gpt2.parameters(cfg).reduce((n, p) => n + numel(p.shape), 0);
  const { graph, forwardNodes } = buildTrainingGraph(gpt2, cfg, { batchSize: BATCH, seqLength: SEQ, gradients: true });
  const estimate = trainingMemoryBytes(graph, forwardNodes, params);

  // The initial weights are an argument only: the trainer keeps its own copy, as torch's model does.
  const trainer = await Trainer.create(gpt2, cfg, gpt2.init(cfg, new Random(0)), { batchSize: BATCH, seqLength: SEQ, threads: THREADS });
  const rng = new Random(2);
  const batch = () => {
    const inputIds = Int32Array.from({ length: BATCH * SEQ }, () => rng.int(cfg.vocabSize));
    const targets = Int32Array.from({ length: BATCH * SEQ }, () => rng.int(cfg.vocabSize));
    return { inputIds, targets, batchSize: BATCH, seqLength: SEQ };
  };
  // Warm-up: ORT's first run plans its memory and the second allocates that plan (both several
  // times slower than the steps of a real training run, which has hundreds).
  for (let i = 0; i < WARMUP; i++) await trainer.step([batch()], 1e-4);
  const times: number[] = [];
  let runS = 0;
  let optimizerS = 0;
  for (let i = 0; i < STEPS; i++) {
    const b = batch();
    const t0 = performance.now();
    await trainer.step([b], 1e-4);
    times.push((performance.now() - t0) / 1000);
    runS += trainer.lastStepSeconds.run / STEPS;
    optimizerS += trainer.lastStepSeconds.optimizer / STEPS;
  }
  await trainer.release();

  const tokens = BATCH * SEQ;
  const seconds = times.reduce((a, b) => a + b, 0) / times.length;
  const fastest = Math.min(...times);
  // The machine is shared: measure the MatMul ceiling again after the run and keep the best.
  const ceiling = Math.max(matmulFlops, await matMulFlopsPerSecond(BATCH * SEQ, 768, 3072));
  const n = params - cfg.maxPositions * cfg.hiddenSize;
  const flopsPerToken = 6 * n + 12 * layers * SEQ * cfg.hiddenSize;
  const tokensPerS = tokens / seconds;
  console.log(JSON.stringify({
    bench: 'train', measurement: 'train', model: `gpt2 ${layers} layers (random, fp32)`, layers, params,
    batch: BATCH, seq: SEQ, threads: THREADS, steps: STEPS, warmup: WARMUP,
    allocator: allocatorTuned() ? 'glibc tuned as smox starts it' : 'default',
    step_s: Number(seconds.toFixed(3)), step_s_min: Number(fastest.toFixed(3)),
    ort_run_s: Number(runS.toFixed(3)), optimizer_s: Number(optimizerS.toFixed(3)),
    tokens_per_s: Number(tokensPerS.toFixed(1)),
    model_flops_per_token: flopsPerToken, flops_formula: '6*(params-wpe) + 12*layers*seq*hidden',
    tokens_per_s_best: Number((tokens / fastest).toFixed(1)),
    model_flops_per_s: Math.round(tokensPerS * flopsPerToken),
    matmul_flops_per_s: Math.round(ceiling),
    mfu: Number(((tokensPerS * flopsPerToken) / ceiling).toFixed(3)),
    mfu_best: Number(((tokens / fastest) * flopsPerToken / ceiling).toFixed(3)),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    estimated_mb: Math.round(estimate / 2 ** 20),
    ...(peer && {
      speedup_vs_pytorch: Number((tokensPerS / peer.tokens_per_s).toFixed(2)),
      memory_vs_pytorch: Number((process.resourceUsage().maxRSS / 1024 / peer.peak_rss_mb).toFixed(2)),
    }),
  }));
  return ceiling;
}

async function main(): Promise<void> {
  const [M, K, N] = [BATCH * SEQ, 768, 3072];
  let matmul = await matMulFlopsPerSecond(M, K, N);
  console.log(JSON.stringify({ bench: 'train', measurement: 'matmul', m: M, k: K, n: N, threads: THREADS, flops_per_s: Math.round(matmul) }));
  for (const layers of LAYERS) matmul = await trainRun(layers, matmul);
}

await main();
