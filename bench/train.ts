/**
 * Full fine-tuning speed of GPT-2 and LLaMA-family shapes (bench/train-shapes.ts: gpt2-4l,
 * gpt2-12l, smollm2-135m, qwen2.5-0.5b; random weights, fp32), each against Hugging Face
 * transformers on PyTorch 2 (bench/peers/torch_train.py) and against the MatMul FLOP/s ORT
 * reaches on this machine in the same run. One JSON object per line:
 *   {"bench":"train","measurement":"matmul","shape":"smollm2-135m","m":1024,"k":576,"n":49152,"flops_per_s":…,"ceiling":true}
 *   {"bench":"train","measurement":"peer","shape":"smollm2-135m","peer":"pytorch 2.13.0+cpu eager, transformers 5.18.0","tokens_per_s":…,"peak_rss_mb":…}
 *   {"bench":"train","measurement":"train","shape":"smollm2-135m","tokens_per_s":…,"mfu":…,"peak_rss_mb":…,
 *    "speedup_vs_pytorch":…,"memory_vs_pytorch":…,"pytorch":{…},
 *    "finetuner_tokens_per_s":…,"finetuner_peak_rss_mb":…,"finetuner_vs_bench":…}
 *
 * Each side runs in a process of its own (ours: bench/train-run.ts), so each shape's peak RSS
 * is that shape's and that side's. Ours trains as `smox train/finetuner` does (the family's
 * normalizeConfig, Trainer.create, Trainer.step, the finetuner's default AdamW settings); the
 * peer builds AutoModelForCausalLM from the same config dict with eager attention and the same
 * AdamW, batch, threads, steps and warm-up, and computes the same loss (our targets, unshifted).
 *
 * Then the real `train/finetuner` tool trains the same shape (bench/finetuner-run.ts: the same
 * config, batch, threads and optimizer, its warm-up steps plus --steps steps, in a process of
 * its own) and its own steady-state rate is reported beside Trainer.step's: finetuner_vs_bench
 * is the one over the other, what a user gets against what this bench measures (--no-finetuner
 * skips it). Its steps run back to back, as a user's do, where ours wait between steps while the
 * MatMul ceiling is sampled.
 *
 * Model FLOPs per token: 6·N + 12·L·T·(H·D), derived and documented in bench/model-flops.ts.
 * mfu = model FLOP/s over the measured steps ÷ MatMul FLOP/s over runs made after each of those
 * steps for as long as it took, in whichever of the model's own product shapes ORT sustained
 * fastest just before (bench/matmul-ceiling.ts: the machine is shared and its rate drifts, so
 * both sides get the same conditions and the same time); mfu_vs_best_matmul divides by the
 * fastest single MatMul run seen in the whole bench instead (a lower bound: the luckiest second
 * against whole steps). pytorch.mfu divides the peer's model FLOP/s by the same ceiling (ORT's
 * MatMul rate beside our steps, not torch's own).
 *
 * It runs in a process started with smox's glibc malloc settings (runtime/allocator-tuning.ts),
 * relaunching itself when started without them, so it measures what `smox train/finetuner`
 * runs; --default-allocator measures without them.
 *
 * Usage: npm run build && npm run bench:train [-- --shapes gpt2-4l,smollm2-135m --steps 4 --warmup 2 --threads 2
 *        --batch 8 --seq 128 (override every shape's) --no-peer --no-finetuner --default-allocator]
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveArchitecture } from '../src/models/index.js';
import { allocatorTuned, tunedGlibcTunables } from '../src/runtime/allocator-tuning.js';
import { WARMUP_STEPS } from '../src/runtime/step-clock.js';
import { type ChildError, forkChild } from './child.js';
import { MatMulCeiling, type Shape, throughput } from './matmul-ceiling.js';
import { matmulParameters, modelFlopsPerToken, productShapes } from './model-flops.js';
import type { FinetunerResult, FinetunerSpec } from './finetuner-run.js';
import type { Optimizer, RunResult, RunSpec } from './train-run.js';
import { TRAIN_SHAPES, type TrainShape } from './train-shapes.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const SHAPE_NAMES = (flag('shapes') ?? TRAIN_SHAPES.map((s) => s.name).join(',')).split(',').filter(Boolean);
const STEPS = Number(flag('steps') ?? 4);
// As many as the finetuner leaves out of its reported rate, so the two compare.
const WARMUP = Number(flag('warmup') ?? WARMUP_STEPS);
const BATCH = flag('batch');
const SEQ = flag('seq');
const THREADS = Number(flag('threads') ?? os.availableParallelism());
const DEFAULT_ALLOCATOR = process.argv.includes('--default-allocator');
/** lr as the old bench used; the rest are train/finetuner's defaults (and the Trainer's). */
const OPTIMIZER: Optimizer = { lr: 1e-4, weightDecay: 0, gradClip: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

for (const name of SHAPE_NAMES) {
  if (!TRAIN_SHAPES.some((s) => s.name === name)) {
    console.error(`--shapes: no shape named "${name}"; choose from ${TRAIN_SHAPES.map((s) => s.name).join(', ')}`);
    process.exit(1);
  }
}

if (process.platform === 'linux' && !DEFAULT_ALLOCATOR && !allocatorTuned()) {
  const env = { ...process.env, GLIBC_TUNABLES: tunedGlibcTunables() };
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  process.exit(r.status ?? 1);
}

interface PeerRun {
  peer: string;
  params: number;
  tokens_per_s: number;
  tokens_per_s_best: number;
  peak_rss_mb: number;
  first_loss: number;
}

/**
 * The transformers peer (bench/peers/torch_train.py) on the same config, batch, optimizer and
 * threads, in its own process so its memory is its own; null (with a line saying why) when
 * python3 cannot import torch and transformers, or --no-peer.
 */
function peerRun(shape: TrainShape): PeerRun | null {
  if (process.argv.includes('--no-peer')) return null;
  const script = new URL('../../bench/peers/torch_train.py', import.meta.url).pathname;
  const args = [
    script, '--config', JSON.stringify(shape.config), '--steps', String(STEPS), '--warmup', String(WARMUP), '--batch', String(shape.batch),
    '--seq', String(shape.seq), '--threads', String(THREADS), '--optimizer', JSON.stringify(OPTIMIZER),
  ];
  // PyTorch runs as its users run it: with glibc's default malloc (it caches its own tensors).
  const { GLIBC_TUNABLES: _ours, ...env } = process.env;
  // A pyenv or venv python3 may shadow a system python that has them (or the other way round).
  let r = spawnSync('python3', args, { encoding: 'utf8', env, maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0 && /No module named/.test(r.stderr ?? '')) r = spawnSync('/usr/bin/python3', args, { encoding: 'utf8', env, maxBuffer: 64 * 2 ** 20 });
  const line = r.status === 0 ? r.stdout.trim().split('\n').at(-1) : undefined;
  if (!line) {
    const why = r.error ? r.error.message : (r.stderr || '').trim().split('\n').at(-1) || `exit ${r.status ?? r.signal}`;
    const hint = /No module named/.test(why) ? ' (pip install torch transformers)' : '';
    console.log(JSON.stringify({ bench: 'train', measurement: 'peer', shape: shape.name, skipped: `pytorch peer did not run: ${why}${hint}` }));
    return null;
  }
  const peer = { shape: shape.name, ...(JSON.parse(line) as PeerRun) };
  console.log(JSON.stringify({ bench: 'train', measurement: 'peer', ...peer }));
  return peer;
}

/**
 * Idle time before the MatMul runs that follow each measured step: the step's tail (V8's
 * concurrent sweeping after the trainer's GC, ORT's threads spinning before they sleep) would
 * otherwise run beside the first products and slow them (81 vs ~140 GFLOP/s seen right after a
 * step), which is the trainer's cost, not the machine's; its own step time already pays it.
 */
const CEILING_SETTLE_MS = 300;

/** Our side in its own process (bench/train-run.ts), the ceiling sampled after each measured step. */
function oursRun(spec: RunSpec, ceiling: MatMulCeiling, shape: Shape, ceilingRates: number[]): Promise<RunResult | ChildError> {
  return forkChild<RunResult>('./train-run.js', spec, 'the training process', 'inherit', async (m, child) => {
    await sleep(CEILING_SETTLE_MS);
    // As long as the step took: the machine's load comes in bursts, so both sides get equal time.
    ceilingRates.push(...(await ceiling.sample({ shape, ms: m.seconds * 1000 })));
    child.send('go');
  });
}

/** train/finetuner on the shape, in its own process (bench/finetuner-run.ts); null with --no-finetuner. */
function finetunerRun(spec: FinetunerSpec): Promise<FinetunerResult | ChildError> | null {
  if (process.argv.includes('--no-finetuner')) return null;
  return forkChild<FinetunerResult>('./finetuner-run.js', spec, "the finetuner's process", ['ignore', 'ignore', 'inherit', 'ipc']);
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

async function benchShape(base: TrainShape, bestMatmulSoFar: number): Promise<number> {
  const shape: TrainShape = { ...base, batch: Number(BATCH ?? base.batch), seq: Number(SEQ ?? base.seq) };
  const { arch, cfg } = resolveArchitecture(shape.config);
  // The peer first, while nothing else of this bench holds memory.
  const peer = peerRun(shape);

  const ceiling = await MatMulCeiling.start(THREADS);
  const { shape: ceilingShape, rates } = await ceiling.fastest(productShapes(arch, cfg, shape.batch * shape.seq), 4000);
  for (const [s, r] of rates) {
    const [m, k, n] = s;
    console.log(JSON.stringify({
      bench: 'train', measurement: 'matmul', shape: shape.name, m, k, n, threads: THREADS,
      flops_per_s: Math.round(throughput(r)), flops_per_s_best: Math.round(Math.max(...r)), ceiling: s === ceilingShape,
    }));
  }
  const ceilingRates: number[] = [];
  const spec: RunSpec = { config: shape.config, batch: shape.batch, seq: shape.seq, steps: STEPS, warmup: WARMUP, threads: THREADS, optimizer: OPTIMIZER };
  const ours = await oursRun(spec, ceiling, ceilingShape, ceilingRates);
  ceiling.close();
  let bestMatmul = Math.max(bestMatmulSoFar, ...[...rates.values()].flat());
  if (ours.type === 'error') {
    console.log(JSON.stringify({ bench: 'train', measurement: 'train', shape: shape.name, skipped: `ours did not run: ${ours.message}` }));
    return bestMatmul;
  }
  bestMatmul = Math.max(bestMatmul, ...ceilingRates);
  // After ours has exited and the ceiling's process is closed: nothing else of the bench runs beside it.
  const ft = await finetunerRun({
    config: shape.config, batch: shape.batch, seq: shape.seq, steps: STEPS, threads: THREADS, lr: OPTIMIZER.lr, weightDecay: OPTIMIZER.weightDecay, gradClip: OPTIMIZER.gradClip,
  });

  const tokens = shape.batch * shape.seq;
  const seconds = ours.times.reduce((a, b) => a + b, 0) / ours.times.length;
  const fastest = Math.min(...ours.times);
  const matmul = throughput(ceilingRates);
  const flopsPerToken = modelFlopsPerToken(arch, cfg, shape.seq);
  const tokensPerS = tokens / seconds;
  console.log(JSON.stringify({
    bench: 'train', measurement: 'train', shape: shape.name,
    model: `${cfg.modelType} ${cfg.numLayers} layers × ${cfg.hiddenSize}, ${cfg.numHeads}/${cfg.numKvHeads} heads (random, fp32)`,
    layers: cfg.numLayers, params: ours.params, batch: shape.batch, seq: shape.seq, threads: THREADS, steps: STEPS, warmup: WARMUP,
    allocator: ours.allocator, optimizer: OPTIMIZER,
    step_s: round(seconds, 3), step_s_min: round(fastest, 3), ort_run_s: round(ours.runS, 3), optimizer_s: round(ours.optimizerS, 3),
    tokens_per_s: round(tokensPerS, 1), tokens_per_s_best: round(tokens / fastest, 1),
    model_flops_per_token: flopsPerToken, matmul_params: matmulParameters(arch, cfg),
    flops_formula: '6*N + 12*layers*seq*heads*head_dim; N = params less position and untied token embeddings (bench/model-flops.ts)',
    model_flops_per_s: Math.round(tokensPerS * flopsPerToken),
    matmul_shape: ceilingShape, matmul_flops_per_s: Math.round(matmul), matmul_runs: ceilingRates.length,
    mfu: round((tokensPerS * flopsPerToken) / matmul, 3),
    matmul_best_flops_per_s: Math.round(bestMatmul),
    mfu_vs_best_matmul: round((tokensPerS * flopsPerToken) / bestMatmul, 3),
    peak_rss_mb: ours.peakRssMb, estimated_mb: ours.estimatedMb, first_loss: round(ours.firstLoss, 4),
    ...(peer && {
      speedup_vs_pytorch: round(tokensPerS / peer.tokens_per_s, 2),
      memory_vs_pytorch: round(ours.peakRssMb / peer.peak_rss_mb, 2),
      pytorch: {
        peer: peer.peer, tokens_per_s: peer.tokens_per_s, tokens_per_s_best: peer.tokens_per_s_best, peak_rss_mb: peer.peak_rss_mb,
        mfu: round((peer.tokens_per_s * flopsPerToken) / matmul, 3), first_loss: round(peer.first_loss, 4),
      },
      // Both sides built the same model from the same config, or the comparison is not one.
      ...(peer.params !== ours.params && { warning: `the peer's model has ${peer.params} parameters, ours ${ours.params}` }),
    }),
    ...(ft?.type === 'result' && {
      finetuner_tokens_per_s: round(ft.tokensPerS, 1), finetuner_warmup_s: round(ft.warmupS, 2), finetuner_steps: ft.steadySteps,
      finetuner_peak_rss_mb: ft.peakRssMb, finetuner_first_loss: round(ft.firstLoss, 4),
      finetuner_vs_bench: round(ft.tokensPerS / tokensPerS, 3), finetuner_memory_vs_bench: round(ft.peakRssMb / ours.peakRssMb, 2),
    }),
    ...(ft?.type === 'error' && { finetuner_skipped: `train/finetuner did not run: ${ft.message}` }),
  }));
  return bestMatmul;
}

let best = 0;
for (const name of SHAPE_NAMES) best = await benchShape(TRAIN_SHAPES.find((s) => s.name === name)!, best);
