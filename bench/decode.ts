/**
 * Batch-1 decode speed of a random gpt2-124M-shaped model (12 layers, 768 wide, 50257 vocab,
 * fp32), against the weight-streaming bandwidth a plain ORT MatMul GEMV reaches over the same
 * number of bytes in the same run. Decoding one token must read every MatMul weight once
 * (the head included), so bytes/token · tokens/s ÷ GEMV bytes/s is how close the engine gets
 * to the memory ceiling. One JSON object per line:
 *   {"bench":"decode","measurement":"gemv",...}
 *   {"bench":"decode","measurement":"decode","weights_as":"initializers","tokens_per_s":…,"bandwidth_ratio":…}
 *   {"bench":"decode","measurement":"decode","weights_as":"inputs",...}  (the writer's other mode)
 * Usage: npm run build && npm run bench:decode [-- --tokens 64 --threads 2]
 */
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { Random } from '../src/core/random.js';
import { Graph } from '../src/graph/builder.js';
import { writeOnnx } from '../src/graph/onnx-writer.js';
import * as op from '../src/graph/ops.js';
import { buildDecoderGraph } from '../src/models/architecture.js';
import { gpt2, type Gpt2Config } from '../src/models/gpt2.js';
import { DecoderSession } from '../src/runtime/session.js';
import { gemvBytesPerSecond } from './gemv.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const NEW_TOKENS = flag('tokens', 64);
const THREADS = flag('threads', os.availableParallelism());
const PROMPT = [464, 2068, 7586, 21831, 18045, 625, 262, 16931];

const cfg: Gpt2Config = gpt2.normalizeConfig({ model_type: 'gpt2' });
const sessionOptions = { intraOpNumThreads: THREADS, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const };

/** Bytes of weights one decode step reads: every MatMul weight; embeddings only gather a row. */
function bytesPerToken(): number {
  return gpt2
    .parameters(cfg)
    .filter((p) => p.name.endsWith('.weight') && p.shape.length === 2 && !p.name.includes('wpe'))
    .reduce((n, p) => n + p.shape[0] * p.shape[1] * 4, 0);
}

/** Greedy decode of NEW_TOKENS after the prompt; returns tokens/s of the decode steps alone. */
async function decodeTokensPerSecond(step: (ids: number[]) => Promise<Float32Array>, prefill: (ids: number[]) => Promise<Float32Array>) {
  let logits = await prefill(PROMPT);
  for (let i = 0; i < 4; i++) logits = await step([argmax(logits)]); // warm-up
  logits = await prefill(PROMPT);
  const t0 = performance.now();
  for (let i = 0; i < NEW_TOKENS; i++) logits = await step([argmax(logits)]);
  return NEW_TOKENS / ((performance.now() - t0) / 1000);
}

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** The same decoder with weights fed as graph inputs each run (how training feeds them). */
async function decodeWithWeightsAsInputs(weights: Map<string, { shape: number[]; data: Float32Array }>): Promise<number> {
  const bytes = writeOnnx(buildDecoderGraph(gpt2, cfg, { logits: 'last' }), { weightsAs: 'inputs' });
  const session = await ort.InferenceSession.create(bytes, sessionOptions);
  const weightFeeds: Record<string, ort.Tensor> = {};
  for (const p of gpt2.parameters(cfg)) weightFeeds[p.name] = new ort.Tensor('float32', weights.get(p.name)!.data, p.shape);
  let cache: ort.Tensor[] = [];
  let past = 0;
  const empty = () => new ort.Tensor('float32', new Float32Array(0), [1, cfg.numKvHeads, 0, cfg.headDim]);
  const run = async (ids: number[]) => {
    const T = past + ids.length;
    const feeds: Record<string, ort.Tensor> = {
      ...weightFeeds,
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from(ids, (_, i) => BigInt(past + i)), [1, ids.length]),
    };
    for (let i = 0; i < cfg.numLayers; i++) {
      feeds[`past_key_values.${i}.key`] = cache[2 * i] ?? empty();
      feeds[`past_key_values.${i}.value`] = cache[2 * i + 1] ?? empty();
    }
    const out = await session.run(feeds);
    cache = Array.from({ length: cfg.numLayers }, (_, i) => [out[`present.${i}.key`], out[`present.${i}.value`]]).flat();
    past = T;
    return out.logits.data as Float32Array;
  };
  const tps = await decodeTokensPerSecond(run, (ids) => {
    cache = [];
    past = 0;
    return run(ids);
  });
  await session.release();
  return tps;
}

async function main(): Promise<void> {
  const perToken = bytesPerToken();
  const gemv = await gemvBytesPerSecond(perToken, THREADS);
  console.log(JSON.stringify({ bench: 'decode', measurement: 'gemv', bytes: perToken, bytes_per_s: Math.round(gemv), threads: THREADS }));

  const weights = gpt2.init(cfg, new Random(0));
  const t0 = performance.now();
  const session = await DecoderSession.create(gpt2, cfg, weights, { threads: THREADS });
  const loadSeconds = (performance.now() - t0) / 1000;
  const tps = await decodeTokensPerSecond((ids) => session.step(ids), (ids) => session.prefill(ids));
  await session.release();
  const report = (weightsAs: string, tokensPerS: number, extra: object = {}) =>
    console.log(JSON.stringify({
      bench: 'decode', measurement: 'decode', model: 'gpt2-124M (random, fp32)', weights_as: weightsAs,
      prompt_tokens: PROMPT.length, new_tokens: NEW_TOKENS, threads: THREADS,
      tokens_per_s: Number(tokensPerS.toFixed(2)),
      bandwidth_ratio: Number(((tokensPerS * perToken) / gemv).toFixed(3)),
      ...extra,
    }));
  report('initializers', tps, { session_load_s: Number(loadSeconds.toFixed(2)) });
  if (!process.argv.includes('--skip-inputs')) report('inputs', await decodeWithWeightsAsInputs(weights));
}

await main();
