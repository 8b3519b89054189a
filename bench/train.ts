/**
 * Full fine-tuning speed of random gpt2-shaped models (768 wide, 50257 vocab, fp32, 4 and 12
 * layers, batch 8 × 128 by default), against the MatMul FLOP/s ORT reaches on this machine in
 * the same run (kernel rate: chains of products, no output copies, measured in a child process
 * so its memory is not the trainer's). One JSON object per line:
 *   {"bench":"train","measurement":"matmul","m":1024,"k":768,"n":50257,"flops_per_s":…,"ceiling":true}
 *   {"bench":"train","measurement":"peer","peer":"pytorch 1.13.1 eager","layers":12,"tokens_per_s":…,"peak_rss_mb":…}
 *   {"bench":"train","measurement":"train","layers":12,"tokens_per_s":…,"mfu":…,"peak_rss_mb":…,
 *    "speedup_vs_pytorch":…,"memory_vs_pytorch":…}
 * (peak_rss_mb is the process's peak so far, so a later, larger model reports its own.)
 *
 * Model FLOPs per token follow nanoGPT's estimate_mfu (the PaLM appendix B count):
 * 6·N + 12·L·T·C, with N the parameters less the position embeddings (the tied token embedding
 * counts once, as the LM head's matmul) and 12·L·T·C the attention score and context matmuls,
 * forward and backward. mfu = model FLOP/s over the measured steps ÷ MatMul FLOP/s over runs
 * made after each of those steps for as long as it took, in whichever of the model's product
 * shapes ORT sustained fastest at the start (bench/matmul-ceiling.ts: the machine is shared and
 * its rate drifts, so both sides get the same conditions and the same time);
 * mfu_vs_best_matmul divides by the fastest single MatMul run seen in the whole bench instead
 * (a lower bound: the luckiest second against four whole steps).
 *
 * It runs in a process started with smox's glibc malloc settings (runtime/allocator-tuning.ts),
 * relaunching itself when started without them, so it measures what `smox train/finetuner`
 * runs; --default-allocator measures without them.
 *
 * Usage: npm run build && npm run bench:train [-- --layers 4 --steps 4 --warmup 2 --batch 8 --seq 128 --threads 2 --no-peer --default-allocator]
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Random } from '../src/core/random.js';
import { gpt2 } from '../src/models/gpt2.js';
import { numel } from '../src/models/tensor.js';
import { allocatorTuned, tunedGlibcTunables } from '../src/runtime/allocator-tuning.js';
import { Trainer } from '../src/runtime/trainer.js';
import { trainingMemoryBytes } from '../src/runtime/training-memory.js';
import { buildTrainingGraph } from '../src/runtime/training-graph.js';
import { MatMulCeiling, type Shape, throughput } from './matmul-ceiling.js';

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
  const env = { ...process.env, GLIBC_TUNABLES: tunedGlibcTunables() };
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  process.exit(r.status ?? 1);
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

/**
 * Idle time before the MatMul runs that follow each measured step: the step's tail (V8's
 * concurrent sweeping after the trainer's GC, ORT's threads spinning before they sleep) would
 * otherwise run beside the first products and slow them (81 vs ~140 GFLOP/s seen right after a
 * step), which is the trainer's cost, not the machine's; its own step time already pays it.
 */
const CEILING_SETTLE_MS = 300;

async function trainRun(layers: number, ceiling: MatMulCeiling, shape: Shape, bestMatmulSoFar: number): Promise<number> {
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
  const ceilingRates: number[] = [];
  let runS = 0;
  let optimizerS = 0;
  for (let i = 0; i < STEPS; i++) {
    const b = batch();
    const t0 = performance.now();
    await trainer.step([b], 1e-4);
    times.push((performance.now() - t0) / 1000);
    runS += trainer.lastStepSeconds.run / STEPS;
    optimizerS += trainer.lastStepSeconds.optimizer / STEPS;
    await sleep(CEILING_SETTLE_MS);
    // As long as the step took: the machine's load comes in bursts, so both sides get equal time.
    ceilingRates.push(...(await ceiling.sample({ shape, ms: times.at(-1)! * 1000 })));
  }
  await trainer.release();

  const tokens = BATCH * SEQ;
  const seconds = times.reduce((a, b) => a + b, 0) / times.length;
  const fastest = Math.min(...times);
  const matmul = throughput(ceilingRates);
  const bestMatmul = Math.max(bestMatmulSoFar, ...ceilingRates);
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
    matmul_shape: shape, matmul_flops_per_s: Math.round(matmul), matmul_runs: ceilingRates.length,
    mfu: Number(((tokensPerS * flopsPerToken) / matmul).toFixed(3)),
    matmul_best_flops_per_s: Math.round(bestMatmul),
    mfu_vs_best_matmul: Number(((tokensPerS * flopsPerToken) / bestMatmul).toFixed(3)),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    estimated_mb: Math.round(estimate / 2 ** 20),
    ...(peer && {
      speedup_vs_pytorch: Number((tokensPerS / peer.tokens_per_s).toFixed(2)),
      memory_vs_pytorch: Number((process.resourceUsage().maxRSS / 1024 / peer.peak_rss_mb).toFixed(2)),
    }),
  }));
  return bestMatmul;
}

async function main(): Promise<void> {
  // The model's product shapes: the MLP's, the attention projection's and the LM head's.
  const { hiddenSize: C, vocabSize: V } = gpt2.normalizeConfig({ model_type: 'gpt2' });
  const M = BATCH * SEQ;
  const shapes: Shape[] = [[M, C, 4 * C], [M, C, 3 * C], [M, C, V]];
  const ceiling = await MatMulCeiling.start(THREADS);
  const { shape, rates } = await ceiling.fastest(shapes, 4000);
  for (const [s, r] of rates) {
    const [m, k, n] = s;
    console.log(JSON.stringify({ bench: 'train', measurement: 'matmul', m, k, n, threads: THREADS, flops_per_s: Math.round(throughput(r)), flops_per_s_best: Math.round(Math.max(...r)), ceiling: s === shape }));
  }
  let best = Math.max(...[...rates.values()].flat());
  for (const layers of LAYERS) best = await trainRun(layers, ceiling, shape, best);
  ceiling.close();
}

await main();
