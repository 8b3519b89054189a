/**
 * Decode and prefill speed at fp32, int8 and int4 on the path users run, against llama.cpp in
 * the same run. A random gpt2-124M-shaped model (12 × 768, 50257 vocab, tied head) is made by
 * transform/reinitializer, quantized by transform/quantizer (--layer_types Linear,Embedding:
 * the tied head is the largest matrix), sampled greedily by infer/sampler (its own session,
 * its tokens/s and prefill tokens/s), and exported by io/exporter as GGUF (F32 / Q8_0 / Q4_0)
 * for llama.cpp (node-llama-cpp's prebuilt CPU binary, fed the same token ids, same threads).
 * Perplexity is measured on the embedded model's validation split at each precision.
 * One JSON line per precision:
 *   {"bench":"quant","precision":"int8","tokens_per_s":…,"prefill_tokens_per_s":…,"bytes":…,
 *    "bandwidth_ratio":…,"perplexity":…,"llama_cpp":{…},"vs_llama_cpp":…,"prefill_vs_llama_cpp":…}
 * Usage: npm run build && npm run bench:quant [-- --tokens 128 --threads 2]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../src/engine/engine.js';
import { runTool } from '../src/engine/run-tool.js';
import { charTokenizerFiles } from '../src/models/tokenizer.js';
import { gemvBytesPerSecond } from './gemv.js';
import { ensureLlamaCpp, llamaCppTimes } from './peers/llama-cpp.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const NEW_TOKENS = flag('tokens', 128);
const THREADS = flag('threads', os.availableParallelism());
const PROMPT = 'The quick brown fox ';
const LONG_PROMPT = 'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, it was the epoch';

const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-bench-quant-'));
const engine = new Engine({ threads: THREADS });

async function tool(line: string[]) {
  const [name, ...argv] = line;
  const r = await runTool(name, argv, { cwd, sink: () => {}, engine, json: true });
  if (!r.ok) throw new Error(`${line.join(' ')}: ${r.error}`);
  return r.result!;
}

/** Bytes of weights one decode step reads: every matrix but the embeddings' gathered rows (the tied head is read whole). */
function bytesPerToken(dir: string): number {
  const header = fs.readFileSync(path.join(dir, 'model.safetensors'));
  const n = Number(header.readBigUInt64LE(0));
  const meta = JSON.parse(header.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets?: [number, number]; shape?: number[] }>;
  let bytes = 0;
  for (const [name, t] of Object.entries(meta)) {
    if (!t.data_offsets || name.includes('wpe') || (t.shape?.length ?? 0) < 2 && !name.endsWith('.scales')) continue;
    bytes += t.data_offsets[1] - t.data_offsets[0];
  }
  return bytes;
}

async function sample(prompt: string, maxNew: number) {
  const r = await tool(['infer/sampler', '--prompt', prompt, '--max_new_tokens', String(maxNew), '--do_sample', 'false']);
  return { metrics: r.metrics as Record<string, number>, data: r.data as { prompt_ids: number[]; generated_ids: number[] } };
}

async function main(): Promise<void> {
  const { tokenizerJson, tokenizerConfig } = charTokenizerFiles(' abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.,;:!?\'-\n');
  fs.mkdirSync(path.join(cwd, 'base'));
  fs.writeFileSync(path.join(cwd, 'base', 'config.json'), JSON.stringify({ model_type: 'gpt2', eos_token_id: 0, bos_token_id: 0 }));
  fs.writeFileSync(path.join(cwd, 'base', 'tokenizer.json'), JSON.stringify(tokenizerJson));
  fs.writeFileSync(path.join(cwd, 'base', 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
  await tool(['transform/reinitializer', '--model_path', 'base', '--output_model_path', 'fp32', '--seed', '0']);
  for (const bits of [8, 4]) {
    await tool(['transform/quantizer', '--model_path', 'fp32', '--output_model_path', `int${bits}`, '--precision', String(bits), '--layer_types', 'Linear,Embedding']);
  }
  const llamaCpp = ensureLlamaCpp();
  if (llamaCpp) console.error(`bench:quant: llama.cpp skipped — ${llamaCpp}`);
  const gemv = await gemvBytesPerSecond(bytesPerToken(path.join(cwd, 'fp32')), THREADS);

  // The embedded model, quantized the same way, for perplexity on its validation split.
  for (const bits of [8, 4]) {
    await tool(['transform/quantizer', '--model_path', 'builtin:shakespeare-char', '--output_model_path', `char-int${bits}`, '--precision', String(bits), '--layer_types', 'Linear,Embedding']);
  }
  const perplexity = async (model: string) =>
    ((await tool(['eval/perplexity', '--model_path', model, '--dataset_path', 'builtin:tiny_shakespeare', '--max_tokens', '20000'])).metrics as { perplexity: number }).perplexity;

  for (const [precision, dir, charModel] of [['fp32', 'fp32', 'builtin:shakespeare-char'], ['int8', 'int8', 'char-int8'], ['int4', 'int4', 'char-int4']]) {
    await tool(['io/importer', '--model_path', dir]);
    await sample(PROMPT, 8); // warm: the session is built and its weights paged in
    const decode = await sample(PROMPT, NEW_TOKENS);
    const prefill = await sample(LONG_PROMPT, 1);
    const bytes = bytesPerToken(path.join(cwd, dir));
    const ours = decode.metrics.tokens_per_s;
    const line: Record<string, unknown> = {
      bench: 'quant', model: 'gpt2-124M (random)', precision, threads: THREADS, new_tokens: NEW_TOKENS,
      tokens_per_s: ours, prefill_tokens: prefill.data.prompt_ids.length, prefill_tokens_per_s: prefill.metrics.prefill_tokens_per_s,
      bytes, bandwidth_ratio: Number(((ours * bytes) / gemv).toFixed(3)), perplexity: Number((await perplexity(charModel)).toFixed(4)),
    };
    if (!llamaCpp) {
      await tool(['io/exporter', '--model_path', dir, '--export_format', 'gguf', '--export_model_path', `${dir}-gguf`]);
      const lc = llamaCppTimes({ file: path.join(cwd, `${dir}-gguf.gguf`), prompt: decode.data.prompt_ids, n: NEW_TOKENS, prefill: prefill.data.prompt_ids, threads: THREADS });
      const same = lc.ids.slice(0, 16).every((id, i) => id === decode.data.generated_ids[i]);
      line.llama_cpp = { tokens_per_s: Number(lc.tokens_per_s.toFixed(2)), prefill_tokens_per_s: Number(lc.prefill_tokens_per_s.toFixed(1)), same_first_16_ids: same };
      line.vs_llama_cpp = Number((ours / lc.tokens_per_s).toFixed(3));
      line.prefill_vs_llama_cpp = Number((prefill.metrics.prefill_tokens_per_s / lc.prefill_tokens_per_s).toFixed(3));
    }
    console.log(JSON.stringify(line));
  }
  await engine.release();
  fs.rmSync(cwd, { recursive: true, force: true });
}

await main();
