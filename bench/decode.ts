/**
 * Batch-1 decode speed of a random gpt2-124M-shaped model (12 layers, 768 wide, 50257 vocab,
 * fp32) as infer/sampler runs it — its own session and generation loop, the tokens/s it
 * reports — against the weight-streaming bandwidth a plain ORT MatMul GEMV reaches over the
 * same number of bytes in the same run. Decoding one token must read every MatMul weight once
 * (the head included), so bytes/token · tokens/s ÷ GEMV bytes/s is how close the engine gets
 * to the memory ceiling. One JSON object per line:
 *   {"bench":"decode","measurement":"gemv",...}
 *   {"bench":"decode","measurement":"decode","weights_as":"initializers","tokens_per_s":…,"bandwidth_ratio":…}  (infer/sampler)
 *   {"bench":"decode","measurement":"decode","weights_as":"inputs",...}  (the writer's other mode, how training feeds weights)
 * Usage: npm run build && npm run bench:decode [-- --tokens 64 --threads 2 --skip-inputs]
 */
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { writeOnnx } from '../src/graph/onnx-writer.js';
import { buildDecoderGraph } from '../src/models/architecture.js';
import { readCheckpoint } from '../src/models/checkpoint.js';
import { gpt2, type Gpt2Config } from '../src/models/gpt2.js';
import type { Weights } from '../src/models/tensor.js';
import { gemvBytesPerSecond } from './gemv.js';
import { bytesPerToken, samplerWorkspace } from './sampler-workspace.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const NEW_TOKENS = flag('tokens', 64);
const THREADS = flag('threads', os.availableParallelism());
const PROMPT = 'The quick brown fox ';

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** The same decoder with weights fed as graph inputs each run (how training feeds them); greedy tokens/s. */
async function decodeWithWeightsAsInputs(cfg: Gpt2Config, weights: Weights, prompt: number[]): Promise<number> {
  const bytes = writeOnnx(buildDecoderGraph(gpt2, cfg, { logits: 'last' }), { weightsAs: 'inputs' });
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: THREADS, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
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
  let logits = await run(prompt);
  for (let i = 0; i < 4; i++) logits = await run([argmax(logits)]); // warm-up
  cache = [];
  past = 0;
  logits = await run(prompt);
  const t0 = performance.now();
  for (let i = 0; i < NEW_TOKENS; i++) logits = await run([argmax(logits)]);
  const tps = NEW_TOKENS / ((performance.now() - t0) / 1000);
  await session.release();
  return tps;
}

async function main(): Promise<void> {
  const ws = await samplerWorkspace(THREADS, 'decode');
  const dir = path.join(ws.cwd, 'fp32');
  const perToken = bytesPerToken(dir);
  const gemv = await gemvBytesPerSecond(perToken, THREADS);
  console.log(JSON.stringify({ bench: 'decode', measurement: 'gemv', bytes: perToken, bytes_per_s: Math.round(gemv), threads: THREADS }));

  await ws.tool(['io/importer', '--model_path', 'fp32']);
  const t0 = performance.now();
  const warm = await ws.sample(PROMPT, 8); // builds the session and pages its weights in
  const loadSeconds = (performance.now() - t0) / 1000;
  const decode = await ws.sample(PROMPT, NEW_TOKENS);
  const report = (weightsAs: string, tokensPerS: number, extra: object = {}) =>
    console.log(JSON.stringify({
      bench: 'decode', measurement: 'decode', model: 'gpt2-124M (random, fp32)', weights_as: weightsAs,
      prompt_tokens: warm.data.prompt_ids.length, new_tokens: NEW_TOKENS, threads: THREADS,
      tokens_per_s: Number(tokensPerS.toFixed(2)),
      bandwidth_ratio: Number(((tokensPerS * perToken) / gemv).toFixed(3)),
      load: Number(os.loadavg()[0].toFixed(1)),
      ...extra,
    }));
  report('initializers', decode.metrics.tokens_per_s, { path: 'infer/sampler', first_sample_s: Number(loadSeconds.toFixed(2)) });
  if (!process.argv.includes('--skip-inputs')) {
    const ckpt = readCheckpoint(dir);
    report('inputs', await decodeWithWeightsAsInputs(gpt2.normalizeConfig(ckpt.config), ckpt.weights, warm.data.prompt_ids));
  }
  await ws.release();
}

await main();
