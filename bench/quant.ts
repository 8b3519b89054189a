/**
 * Decode and prefill speed at fp32, int8 and int4 on the path users run, against llama.cpp in
 * the same run. A random gpt2-124M-shaped model (12 × 768, 50257 vocab, tied head) is made by
 * transform/reinitializer, quantized by transform/quantizer with its defaults (the projections
 * and the tied head/embedding, the head at 8 bits), sampled greedily by infer/sampler (its own
 * session, its tokens/s and prefill tokens/s), and exported by io/exporter as GGUF
 * (F32 / Q8_0 / Q4_0 with a Q8_0 head) for llama.cpp (node-llama-cpp's prebuilt CPU binary, fed
 * the same token ids, same threads). Prefill is the best of two runs on each side. Perplexity
 * is measured on the embedded model's validation split, quantized the same way.
 * One JSON line per precision:
 *   {"bench":"quant","precision":"int8","tokens_per_s":…,"prefill_tokens_per_s":…,"bytes":…,
 *    "bandwidth_ratio":…,"perplexity":…,"llama_cpp":{…},"vs_llama_cpp":…,"prefill_vs_llama_cpp":…}
 * Usage: npm run build && npm run bench:quant [-- --tokens 128 --threads 2 --head_precision 4]
 */
import os from 'node:os';
import path from 'node:path';
import { gemvBytesPerSecond } from './gemv.js';
import { ensureLlamaCpp, llamaCppTimes } from './peers/llama-cpp.js';
import { bytesPerToken, samplerWorkspace } from './sampler-workspace.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const NEW_TOKENS = flag('tokens', 128);
const THREADS = flag('threads', os.availableParallelism());
const HEAD_BITS = flag('head_precision', 8);
const PROMPT = 'The quick brown fox ';
const LONG_PROMPT = 'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, it was the epoch';

async function main(): Promise<void> {
  const ws = await samplerWorkspace(THREADS, 'quant');
  const { tool } = ws;
  const quantize = (from: string, to: string, bits: number) =>
    tool(['transform/quantizer', '--model_path', from, '--output_model_path', to, '--precision', String(bits), '--head_precision', String(HEAD_BITS)]);
  for (const bits of [8, 4]) await quantize('fp32', `int${bits}`, bits);
  const llamaCpp = ensureLlamaCpp();
  if (llamaCpp) console.error(`bench:quant: llama.cpp skipped — ${llamaCpp}`);
  const gemv = await gemvBytesPerSecond(bytesPerToken(path.join(ws.cwd, 'fp32')), THREADS);

  // The embedded model, quantized the same way, for perplexity on its validation split.
  for (const bits of [8, 4]) await quantize('builtin:shakespeare-char', `char-int${bits}`, bits);
  const perplexity = async (model: string) =>
    ((await tool(['eval/perplexity', '--model_path', model, '--dataset_path', 'builtin:tiny_shakespeare', '--max_tokens', '20000'])).metrics as { perplexity: number }).perplexity;

  let fp32: { tokensPerS: number; perplexity: number } | undefined;
  for (const [precision, dir, charModel] of [['fp32', 'fp32', 'builtin:shakespeare-char'], ['int8', 'int8', 'char-int8'], ['int4', 'int4', 'char-int4']]) {
    await tool(['io/importer', '--model_path', dir]);
    await ws.sample(PROMPT, 8); // warm: the session is built and its weights paged in
    const decode = await ws.sample(PROMPT, NEW_TOKENS);
    // Best of two, as llama.cpp's side: the first run at a new length also sizes ORT's buffers.
    const prefills = [await ws.sample(LONG_PROMPT, 1), await ws.sample(LONG_PROMPT, 1)];
    const prefillRate = Math.max(...prefills.map((p) => p.metrics.prefill_tokens_per_s));
    const prefillIds = prefills[0].data.prompt_ids;
    const bytes = bytesPerToken(path.join(ws.cwd, dir));
    const ours = decode.metrics.tokens_per_s;
    const line: Record<string, unknown> = {
      bench: 'quant', model: 'gpt2-124M (random)', precision, head_bits: precision === 'fp32' ? 32 : HEAD_BITS, threads: THREADS, new_tokens: NEW_TOKENS,
      tokens_per_s: ours, prefill_tokens: prefillIds.length, prefill_tokens_per_s: prefillRate,
      bytes, bandwidth_ratio: Number(((ours * bytes) / gemv).toFixed(3)), perplexity: Number((await perplexity(charModel)).toFixed(4)),
      load: Number(os.loadavg()[0].toFixed(1)),
    };
    fp32 ??= { tokensPerS: ours, perplexity: line.perplexity as number };
    if (precision !== 'fp32') {
      line.vs_fp32 = Number((ours / fp32.tokensPerS).toFixed(3));
      line.perplexity_vs_fp32 = Number(((line.perplexity as number) / fp32.perplexity - 1).toFixed(4));
    }
    if (!llamaCpp) {
      await tool(['io/exporter', '--model_path', dir, '--export_format', 'gguf', '--export_model_path', `${dir}-gguf`]);
      const lc = llamaCppTimes({ file: path.join(ws.cwd, `${dir}-gguf.gguf`), prompt: decode.data.prompt_ids, n: NEW_TOKENS, prefill: prefillIds, threads: THREADS });
      const same = lc.ids.slice(0, 16).every((id, i) => id === decode.data.generated_ids[i]);
      line.llama_cpp = { tokens_per_s: Number(lc.tokens_per_s.toFixed(2)), prefill_tokens_per_s: Number(lc.prefill_tokens_per_s.toFixed(1)), same_first_16_ids: same };
      line.vs_llama_cpp = Number((ours / lc.tokens_per_s).toFixed(3));
      line.prefill_vs_llama_cpp = Number((prefillRate / lc.prefill_tokens_per_s).toFixed(3));
    }
    console.log(JSON.stringify(line));
  }
  await ws.release();
}

await main();
