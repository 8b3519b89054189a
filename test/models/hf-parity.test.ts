/**
 * Every family against Hugging Face transformers itself: a checkpoint made by transformers
 * (random weights, save_pretrained, safetensors) imports with exactly its parameters, gives
 * the same logits within 1e-4 and the same greedy continuation through our KV cache. Needs
 * python3 with torch and transformers (CI installs them from pip's local wheel folders);
 * skips with a visible message where they are absent.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/models/checkpoint.js';
import { resolveArchitecture } from '../../src/models/index.js';
import { argmax } from '../../src/runtime/sampling.js';
import { DecoderSession } from '../../src/runtime/session.js';
import { HF_CASES, HF_NEW_TOKENS, HF_PROMPTS } from './hf-cases.js';
import { maxAbsDiff } from './tiny.js';

const SCRIPT = path.join(__dirname, '..', 'peers', 'hf_model.py');
const hasPeer = spawnSync('python3', ['-c', 'import torch, transformers'], { stdio: 'ignore' }).status === 0;
if (!hasPeer) console.warn('hf-parity: SKIPPED — python3 with torch and transformers not found (pip install --no-index --find-links <wheels> torch transformers)');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-hf-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

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

describe.skipIf(!hasPeer)('parity with Hugging Face transformers', () => {
  for (const [name, c] of Object.entries(HF_CASES)) {
    it(`${name}: imports, same logits within 1e-4, same greedy tokens through the KV cache`, async () => {
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
    });
  }
});
