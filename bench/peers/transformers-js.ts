/**
 * transformers.js (@huggingface/transformers) for the tests: installed on first use into the
 * test-peer cache (scripts off and `onnxruntime-node-install=skip`, so onnxruntime-node keeps the
 * CPU binaries its package ships and never fetches CUDA; optional dependencies kept, because
 * sharp's platform binary is one and the import fails without it), run in a child process.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { installPeer } from './npm-peer.js';

const VERSION = '4.3.2';

const RUNNER = `
import { pipeline, env } from '@huggingface/transformers';
env.allowRemoteModels = false;
const jobs = JSON.parse(process.argv[2]);
const results = [];
for (const job of jobs) {
  try {
    const generator = await pipeline('text-generation', job.dir, { local_files_only: true, dtype: job.dtype ?? 'fp32', device: 'cpu' });
    const [{ generated_text: text }] = await generator(job.prompt, { max_new_tokens: job.n, do_sample: false, return_full_text: false });
    const inputs = generator.tokenizer(job.prompt);
    const out = await generator.model.generate({ ...inputs, max_new_tokens: job.n, do_sample: false });
    const ids = out.tolist()[0].map(Number);
    results.push({ promptIds: ids.slice(0, inputs.input_ids.dims[1]), ids: ids.slice(inputs.input_ids.dims[1]), text });
    await generator.dispose();
  } catch (e) {
    results.push({ error: String(e.message ?? e) });
  }
}
console.log(JSON.stringify(results));
`;

const CHAT = `
import { AutoTokenizer, env } from '@huggingface/transformers';
env.allowRemoteModels = false;
const jobs = JSON.parse(process.argv[2]);
const results = [];
for (const job of jobs) {
  try {
    const tokenizer = await AutoTokenizer.from_pretrained(job.dir, { local_files_only: true });
    const options = { add_generation_prompt: true, return_tensor: false, return_dict: false, ...(job.template ? { chat_template: job.template } : {}) };
    results.push({ text: tokenizer.apply_chat_template(job.messages, { ...options, tokenize: false }), ids: tokenizer.apply_chat_template(job.messages, options) });
  } catch (e) {
    results.push({ error: String(e.message ?? e) });
  }
}
console.log(JSON.stringify(results));
`;

let dir: string | null = null;

/** Installs transformers.js once; the reason it cannot, or null when ready. */
export function ensureTransformersJs(): string | null {
  const peer = installPeer('transformers', [`@huggingface/transformers@${VERSION}`], 'node_modules/@huggingface/transformers/package.json');
  if ('error' in peer) return peer.error;
  dir = peer.dir;
  fs.writeFileSync(path.join(dir, 'greedy.mjs'), RUNNER);
  fs.writeFileSync(path.join(dir, 'chat.mjs'), CHAT);
  return null;
}

export type PipelineResult = { promptIds: number[]; ids: number[]; text: string } | { error: string };

function runPeer(script: string, jobs: unknown[]): unknown[] {
  if (!dir) throw new Error('call ensureTransformersJs() first');
  const r = spawnSync(process.execPath, [path.join(dir, script), JSON.stringify(jobs)], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`transformers.js failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as unknown[];
}

/**
 * transformers.js' apply_chat_template (with add_generation_prompt) for each tokenizer directory:
 * the rendered text and its ids. Its AutoTokenizer reads tokenizer_config.json's template only
 * (chat_template.jinja is read by its processors): pass such a template as `template`.
 */
export function transformersJsChat(jobs: { dir: string; messages: { role: string; content: string }[]; template?: string }[]): ({ text: string; ids: number[] } | { error: string })[] {
  return runPeer('chat.mjs', jobs) as ({ text: string; ids: number[] } | { error: string })[];
}

/** transformers.js' greedy continuation of `prompt` (n new tokens) for each model directory, through pipeline('text-generation'). */
export function transformersJsGreedy(jobs: { dir: string; prompt: string; n: number; dtype?: string }[]): PipelineResult[] {
  return runPeer('greedy.mjs', jobs) as PipelineResult[];
}
