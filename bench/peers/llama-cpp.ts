/**
 * llama.cpp for the tests and benchmarks: node-llama-cpp with its prebuilt CPU binary, installed
 * on first use into a cache outside the project (never a dependency of a user's `npm ci`; scripts off, so no
 * CUDA or Vulkan download), and run in a child process that greedy-decodes token ids.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { installPeer, PEERS_DIR } from './npm-peer.js';

/** Where node-llama-cpp is installed; runner scripts that import it are written here too. */
export const LLAMA_CPP_DIR = path.join(PEERS_DIR, 'llama-cpp');
const dir = LLAMA_CPP_DIR;

const VERSION = '3.22.1';

const RUNNER = `
import { getLlama } from 'node-llama-cpp';
const jobs = JSON.parse(process.argv[2]);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const results = [];
for (const job of jobs) {
  let model;
  try {
    model = await llama.loadModel({ modelPath: job.file });
  } catch (e) {
    results.push({ error: String(e.message ?? e) });
    continue;
  }
  const ctx = await model.createContext({ contextSize: 128, sequences: 1, threads: 1 });
  const out = [];
  for await (const t of ctx.getSequence().evaluate(job.ids, { temperature: 0, yieldEogToken: true })) {
    out.push(t);
    if (out.length >= job.n) break;
  }
  results.push(out);
  await ctx.dispose();
  await model.dispose();
}
console.log(JSON.stringify(results));
`;

/** Installs node-llama-cpp once (optional CUDA/Vulkan builds omitted); the reason it cannot, or null when ready. */
export function ensureLlamaCpp(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 'llama.cpp prebuilt binary is for linux-x64 only';
  const peer = installPeer('llama-cpp', [`node-llama-cpp@${VERSION}`, `@node-llama-cpp/linux-x64@${VERSION}`], 'node_modules/@node-llama-cpp/linux-x64/package.json', { omitOptional: true });
  if ('error' in peer) return peer.error;
  fs.writeFileSync(path.join(dir, 'greedy.mjs'), RUNNER);
  return null;
}

const TIMER = `
import { getLlama } from 'node-llama-cpp';
const job = JSON.parse(process.argv[2]);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath: job.file });
const ctx = await model.createContext({ contextSize: 512, sequences: 1, threads: job.threads, batchSize: 512 });
const seq = ctx.getSequence();
async function decode(n) {
  await seq.clearHistory();
  const ids = [];
  let t0 = 0;
  for await (const t of seq.evaluate(job.prompt, { temperature: 0 })) {
    ids.push(t);
    // The first token comes from the prompt's pass: time the decode steps after it.
    if (ids.length === 1) t0 = performance.now();
    if (ids.length > n) break;
  }
  return { ids, tokensPerS: n / ((performance.now() - t0) / 1000) };
}
async function prefill() {
  await seq.clearHistory();
  const t0 = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(job.prefill);
  return job.prefill.length / ((performance.now() - t0) / 1000);
}
await decode(8); await prefill(); // the first pass pages the weights in
const d = await decode(job.n);
const p = Math.max(await prefill(), await prefill());
console.log(JSON.stringify({ ids: d.ids.slice(0, job.n), tokens_per_s: d.tokensPerS, prefill_tokens_per_s: p }));
`;

/** llama.cpp's batch-1 greedy decode rate (`n` tokens after `prompt`) and prefill rate (`prefill` in one batch). */
export function llamaCppTimes(job: { file: string; prompt: number[]; n: number; prefill: number[]; threads: number }): {
  ids: number[];
  tokens_per_s: number;
  prefill_tokens_per_s: number;
} {
  fs.writeFileSync(path.join(dir, 'times.mjs'), TIMER);
  const r = spawnSync(process.execPath, [path.join(dir, 'times.mjs'), JSON.stringify(job)], { cwd: dir, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`llama.cpp failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

/** llama.cpp's greedy continuation of `ids` for each GGUF file, `n` tokens each, or why it could not load the file. */
export function llamaCppGreedy(jobs: { file: string; ids: number[]; n: number }[]): (number[] | { error: string })[] {
  const r = spawnSync(process.execPath, [path.join(dir, 'greedy.mjs'), JSON.stringify(jobs)], { cwd: dir, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`llama.cpp failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as (number[] | { error: string })[];
}
