/**
 * What the decode benchmarks share: a scratch working directory with a random
 * gpt2-124M-shaped model (12 × 768, 50257 vocab, tied head, a character tokenizer) made by
 * transform/reinitializer, and the tools run as a user runs them (runTool, one Engine), so
 * tokens/s are infer/sampler's own — its session, its generation loop.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../src/engine/engine.js';
import { runTool } from '../src/engine/run-tool.js';
import { charTokenizerFiles } from '../src/models/tokenizer.js';

export interface SamplerWorkspace {
  cwd: string;
  /** Runs one tool line (tool name first) in `cwd`; throws its error. */
  tool(line: string[]): Promise<{ metrics?: Record<string, unknown>; data?: unknown }>;
  /** infer/sampler, greedy, on the current model. */
  sample(prompt: string, maxNew: number): Promise<{ metrics: Record<string, number>; data: { prompt_ids: number[]; generated_ids: number[] } }>;
  release(): Promise<void>;
}

/** A workspace whose `fp32` directory holds the random model. */
export async function samplerWorkspace(threads: number, name: string): Promise<SamplerWorkspace> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), `smolbox-bench-${name}-`));
  const engine = new Engine({ threads });
  const tool = async (line: string[]) => {
    const [toolName, ...argv] = line;
    const r = await runTool(toolName, argv, { cwd, sink: () => {}, engine, json: true });
    if (!r.ok) throw new Error(`${line.join(' ')}: ${r.error}`);
    return r.result!;
  };
  const { tokenizerJson, tokenizerConfig } = charTokenizerFiles(' abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.,;:!?\'-\n');
  fs.mkdirSync(path.join(cwd, 'base'));
  fs.writeFileSync(path.join(cwd, 'base', 'config.json'), JSON.stringify({ model_type: 'gpt2', eos_token_id: 0, bos_token_id: 0 }));
  fs.writeFileSync(path.join(cwd, 'base', 'tokenizer.json'), JSON.stringify(tokenizerJson));
  fs.writeFileSync(path.join(cwd, 'base', 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
  await tool(['transform/reinitializer', '--model_path', 'base', '--output_model_path', 'fp32', '--seed', '0']);
  return {
    cwd,
    tool,
    async sample(prompt, maxNew) {
      const r = await tool(['infer/sampler', '--prompt', prompt, '--max_new_tokens', String(maxNew), '--do_sample', 'false']);
      return r as Awaited<ReturnType<SamplerWorkspace['sample']>>;
    },
    async release() {
      await engine.release();
      fs.rmSync(cwd, { recursive: true, force: true });
    },
  };
}

/**
 * Bytes of weights one decode step reads, from the model's safetensors header: every matrix
 * and its scales (2-D too), the head included (a tied head is the embedding, read whole), but not the
 * position embedding, of which a step gathers one row.
 */
export function bytesPerToken(dir: string): number {
  const header = fs.readFileSync(path.join(dir, 'model.safetensors'));
  const n = Number(header.readBigUInt64LE(0));
  const meta = JSON.parse(header.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets?: [number, number]; shape?: number[] }>;
  let bytes = 0;
  for (const [name, t] of Object.entries(meta)) {
    if (!t.data_offsets || name.includes('wpe') || (t.shape?.length ?? 0) < 2) continue;
    bytes += t.data_offsets[1] - t.data_offsets[0];
  }
  return bytes;
}
