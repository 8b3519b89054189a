/** llama.cpp's own tokenizer on our GGUF exports (node-llama-cpp, installed by ensureLlamaCpp). */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LLAMA_CPP_DIR } from './llama-cpp.js';

const RUNNER = `
import { getLlama } from 'node-llama-cpp';
const jobs = JSON.parse(process.argv[2]);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const results = [];
for (const job of jobs) {
  try {
    const model = await llama.loadModel({ modelPath: job.file });
    // Without special tokens: plain text to ids (no BOS added), ids to text.
    results.push({ ids: model.tokenize(job.text), text: model.detokenize(job.ids) });
    await model.dispose();
  } catch (e) {
    results.push({ error: String(e.message ?? e) });
  }
}
console.log(JSON.stringify(results));
`;

export type TokenizeResult = { ids: number[]; text: string } | { error: string };

/** For each GGUF file: llama.cpp's ids for `text`, and its text for `ids`. Needs ensureLlamaCpp() first. */
export function llamaCppTokenize(jobs: { file: string; text: string; ids: number[] }[]): TokenizeResult[] {
  fs.writeFileSync(path.join(LLAMA_CPP_DIR, 'tokenize.mjs'), RUNNER);
  const r = spawnSync(process.execPath, [path.join(LLAMA_CPP_DIR, 'tokenize.mjs'), JSON.stringify(jobs)], { cwd: LLAMA_CPP_DIR, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`llama.cpp failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as TokenizeResult[];
}
