/**
 * Our GGUF exports in llama.cpp itself: for every family llama.cpp has, a small model exported
 * by io/exporter loads in llama.cpp (node-llama-cpp's prebuilt CPU binary) and greedy-decodes
 * the same token ids as our engine. Skips with a visible message where llama.cpp cannot be
 * installed (no npm registry).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { readCheckpoint } from '../../src/models/checkpoint.js';
import { architectureFor, resolveArchitecture, SUPPORTED_MODEL_TYPES } from '../../src/models/index.js';
import { argmax } from '../../src/runtime/sampling.js';
import { DecoderSession } from '../../src/runtime/session.js';
import { reshapeConfig } from '../../src/models/config-edit.js';
import { ensureLlamaCpp, llamaCppGreedy } from '../../bench/peers/llama-cpp.js';
import { run, TINY_GPT2, writeTinyModel } from '../tools/fixtures.js';

const families = SUPPORTED_MODEL_TYPES.filter((t) => architectureFor({ model_type: t }).gguf);
const unavailable = ensureLlamaCpp();
if (unavailable) console.warn(`gguf-llama-cpp: SKIPPED — ${unavailable}`);

const PROMPT = [5, 12, 30, 7, 41, 2, 19];
const N = 12;
const engine = new Engine({ threads: 1 });
const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-gguf-'));
afterAll(async () => {
  await engine.release();
  fs.rmSync(cwd, { recursive: true, force: true });
});

/** Without an eos id llama.cpp takes token 11 as EOS for a BPE vocabulary: every model here names one. */
const EOS = 60;

/** Our greedy continuation (llama.cpp is asked to yield EOS and go on, as we do). */
async function ourGreedy(dir: string): Promise<number[]> {
  const ckpt = readCheckpoint(dir);
  const { arch, cfg } = resolveArchitecture(ckpt.config);
  const s = await DecoderSession.create(arch, cfg, ckpt.weights, { threads: 1 });
  const out: number[] = [];
  let logits = await s.prefill(PROMPT);
  for (let i = 0; i < N; i++) {
    out.push(argmax(logits));
    if (i < N - 1) logits = await s.step(out[i]);
  }
  await s.release();
  return out;
}

describe.skipIf(unavailable !== null)('GGUF exports in llama.cpp', () => {
  it(`${families.join(', ')}: llama.cpp greedy-decodes our ids`, async () => {
    const jobs = [];
    const want: Record<string, number[]> = {};
    for (const type of families) {
      // The family's own fresh config, as the reinitializer writes it (the features llama.cpp
      // refuses in one line are tested apart), 64 wide with 4 heads.
      const config = reshapeConfig({ ...TINY_GPT2, vocab_size: 62, n_positions: 64 }, { modelType: type, hiddenSize: 64 });
      // Named after the family: llama.cpp's loader keys Phi-3 token attributes on general.name.
      const dir = path.join(cwd, type);
      // Windows past the sequence: a GGUF states its smallest window as its context (tested apart).
      const windowed = config.sliding_window ? { sliding_window: 64 } : {};
      writeTinyModel(dir, { ...config, ...windowed, eos_token_id: EOS, bos_token_id: EOS }, 3);
      want[type] = await ourGreedy(dir);
      const r = await run(cwd, engine, ['io/exporter', '--model_path', type, '--export_format', 'gguf', '--export_model_path', `${type}-gguf`]);
      expect(r.ok, r.error).toBe(true);
      jobs.push({ file: path.join(cwd, `${type}-gguf.gguf`), ids: PROMPT, n: N });
    }
    const got = llamaCppGreedy(jobs);
    const report = Object.fromEntries(families.map((type, i) => [type, got[i]]));
    expect(report).toEqual(want);
  });
});
