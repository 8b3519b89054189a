/**
 * Every family against Hugging Face transformers itself: a checkpoint made by transformers
 * (random weights, save_pretrained, safetensors) imports with exactly its parameters, gives
 * the same logits within 1e-4 and the same greedy continuation through our KV cache; after 20
 * finetuner steps (the loss falls) transformers loads our output with our logits. Needs
 * python3 with torch and transformers (CI installs them from pip's local wheel folders);
 * skips with a visible message where they are absent.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { readCheckpoint } from '../../src/models/checkpoint.js';
import { charTokenizerFiles } from '../../src/models/tokenizer.js';
import { resolveArchitecture } from '../../src/models/index.js';
import { argmax } from '../../src/runtime/sampling.js';
import { DecoderSession } from '../../src/runtime/session.js';
import { HF_CASES, HF_NEW_TOKENS, HF_PROMPTS } from './hf-cases.js';
import { maxAbsDiff } from './tiny.js';
import { ALPHABET, run } from '../tools/fixtures.js';

const SCRIPT = path.join(__dirname, '..', 'peers', 'hf_model.py');
const hasPeer = spawnSync('python3', ['-c', 'import torch, transformers'], { stdio: 'ignore' }).status === 0;
if (!hasPeer) console.warn('hf-parity: SKIPPED — python3 with torch and transformers not found (pip install --no-index --find-links <wheels> torch transformers)');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-hf-'));
const engine = new Engine({ threads: 1 });
afterAll(async () => {
  await engine.release();
  fs.rmSync(work, { recursive: true, force: true });
});

interface Reference {
  logits: number[][];
  greedy: number[][];
}

/** Makes the transformers checkpoint and its reference outputs. */
function makeHfModel(name: string, modelType: string, config: Record<string, unknown>, seed = 0): { dir: string; ref: Reference } {
  const dir = path.join(work, name);
  const spec = { model_type: modelType, config, seed, noise: 0.15, prompts: HF_PROMPTS, new_tokens: HF_NEW_TOKENS };
  const r = spawnSync('python3', [SCRIPT, 'make', dir, JSON.stringify(spec)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`hf_model.py make ${modelType} failed:\n${r.stderr}`);
  return { dir, ref: JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Reference };
}

/** transformers' outputs for a directory we wrote. */
function hfLogits(dir: string): Reference {
  const spec = { prompts: HF_PROMPTS, new_tokens: HF_NEW_TOKENS };
  const r = spawnSync('python3', [SCRIPT, 'logits', dir, JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`hf_model.py logits failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as Reference;
}

/** Our logits for every position of each prompt. */
async function ourLogits(dir: string): Promise<Float32Array[]> {
  const ckpt = readCheckpoint(dir);
  const { arch, cfg } = resolveArchitecture(ckpt.config);
  const session = await DecoderSession.create(arch, cfg, ckpt.weights, { logits: 'all', threads: 1 });
  const out = [];
  for (const ids of HF_PROMPTS) out.push(await session.prefill(ids));
  await session.release();
  return out;
}

describe.skipIf(!hasPeer)('parity with Hugging Face transformers', () => {
  for (const [name, c] of Object.entries(HF_CASES)) {
    it(`${name}: imports, same logits within 1e-4 and greedy tokens through the KV cache; 20 finetuner steps reload in transformers with our logits`, async () => {
      const { dir, ref } = makeHfModel(name, c.model_type, c.config);
      const ckpt = readCheckpoint(dir);
      const { arch, cfg } = resolveArchitecture(ckpt.config);
      const names = arch.parameters(cfg).map((p) => p.name).sort();
      expect([...ckpt.weights.keys()].sort()).toEqual(names);

      const full = await DecoderSession.create(arch, cfg, ckpt.weights, { logits: 'all', threads: 1 });
      const cached = await DecoderSession.create(arch, cfg, ckpt.weights, { threads: 1 });
      for (const [i, ids] of HF_PROMPTS.entries()) {
        const got = await full.prefill(ids);
        const want = Float32Array.from(ref.logits[i]);
        expect(maxAbsDiff(got, want), `prompt ${i}`).toBeLessThan(1e-4);
        expect(Math.max(...want.map(Math.abs)), 'logits large enough to mean something').toBeGreaterThan(0.3);
        const out: number[] = [];
        let logits = await cached.prefill(ids);
        for (let s = 0; s < HF_NEW_TOKENS; s++) {
          out.push(argmax(logits));
          if (s < HF_NEW_TOKENS - 1) logits = await cached.step(out[out.length - 1]);
        }
        expect(out, `greedy after prompt ${i}`).toEqual(ref.greedy[i]);
      }
      await full.release();
      await cached.release();

      // 20 finetuner steps lower the loss, and transformers loads the result with our logits.
      const { tokenizerJson, tokenizerConfig } = charTokenizerFiles(ALPHABET);
      fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson));
      fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
      fs.writeFileSync(path.join(work, `${name}.txt`), 'the cat sat on the mat. the dog sat on the log.\n'.repeat(20));
      const trained = await run(work, engine, [
        'train/finetuner', '--model_path', dir, '--dataset_path', `${name}.txt`, '--output_model_path', `${name}-trained`,
        '--max_seq_length', '16', '--batch_size', '4', '--learning_rate', '0.003', '--max_steps', '20', '--seed', '1',
      ]);
      expect(trained.ok, trained.error).toBe(true);
      const loss = trained.events.flatMap((e) => (e.type === 'metric' && e.name === 'loss' ? [e.value] : []));
      expect(Math.min(...loss.slice(-3))).toBeLessThan(loss[0]);
      const out = path.join(work, `${name}-trained`);
      const theirs = hfLogits(out);
      for (const [i, ours] of (await ourLogits(out)).entries()) {
        expect(maxAbsDiff(ours, Float32Array.from(theirs.logits[i])), `trained, prompt ${i}`).toBeLessThan(1e-4);
      }
    });
  }
});
