/**
 * A reshaped config means the same model to transformers as to us: configs saved by
 * transformers (with the lists it derives: layer_types, no_rope_layers, attention_types,
 * word_embed_proj_dim) are reshaped by the reinitializer's config edit, transformers builds a
 * model from each result (so it accepts it: it checks those lists' lengths), and our forward of
 * its weights gives its logits within 1e-4. Needs python3 with torch and transformers; skips
 * with a visible message where they are absent.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/models/checkpoint.js';
import { reshapeConfig, type ConfigOverrides } from '../../src/models/config-edit.js';
import { resolveArchitecture } from '../../src/models/index.js';
import { DecoderSession } from '../../src/runtime/session.js';
import { HF_CASES, HF_NEW_TOKENS, HF_PROMPTS, type HfCase } from './hf-cases.js';
import { maxAbsDiff } from './tiny.js';

const SCRIPT = path.join(__dirname, '..', 'peers', 'hf_model.py');
const hasPeer = spawnSync('python3', ['-c', 'import torch, transformers'], { stdio: 'ignore' }).status === 0;
if (!hasPeer) console.warn('reshape-hf: SKIPPED — python3 with torch and transformers not found (pip install --no-index --find-links <wheels> torch transformers)');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-reshape-hf-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const F = 'full_attention';

/** Each family with lists or width-tied sizes, from its parity case, and the reshape a user asks for. */
const CASES: Record<string, { from: HfCase; overrides: ConfigOverrides }> = {
  'gpt_neo global, local, local → 5 layers': { from: HF_CASES.gpt_neo, overrides: { numLayers: 5 } },
  'gemma2 → 4 layers': { from: HF_CASES.gemma2, overrides: { numLayers: 4 } },
  'gemma3_text sliding_window_pattern 3 → 7 layers': { from: HF_CASES.gemma3_text, overrides: { numLayers: 7 } },
  'qwen2 max_window_layers 1 → 5 layers': { from: HF_CASES.qwen2, overrides: { numLayers: 5 } },
  'smollm3 no_rope_layers [1, 0, 1, 0] → 6 layers': { from: HF_CASES.smollm3, overrides: { numLayers: 6 } },
  'llama with a layer_types list it ignores → 3 layers': {
    from: { model_type: 'llama', config: { ...HF_CASES.llama.config, layer_types: [F, F] } }, overrides: { numLayers: 3 },
  },
  'opt → 64 wide': { from: HF_CASES.opt, overrides: { hiddenSize: 64 } },
  'opt-350m layout (project_in/out 16) → 64 wide': { from: HF_CASES['opt (post-LN, project_in/out: opt-350m layout)'], overrides: { hiddenSize: 64 } },
  'phi3 longrope (2 factors) → 64 wide': { from: HF_CASES['phi3 (GQA, partial rotary ½, longrope short factors, sliding window 5)'], overrides: { hiddenSize: 64 } },
  'phi3 longrope long factors → 2 heads': { from: HF_CASES['phi3 (longrope long factors, tied)'], overrides: { numHeads: 2, numKvHeads: 2 } },
};

const python = (args: string[]) => {
  const r = spawnSync('python3', [SCRIPT, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`hf_model.py ${args[0]} failed:\n${r.stderr}`);
};

describe.skipIf(!hasPeer)('reshaped configs in transformers', () => {
  it(`${Object.keys(CASES).join('; ')}: transformers builds each, with our logits`, async () => {
    const dir = (name: string, kind: string) => path.join(work, `${name.replace(/\W+/g, '-')}-${kind}`);
    // One python process per step: importing torch is the slow part.
    python(['configs', JSON.stringify(Object.fromEntries(Object.entries(CASES).map(([name, c]) => [dir(name, 'saved'), c.from])))]);
    const models: Record<string, string> = {};
    for (const [name, c] of Object.entries(CASES)) {
      const saved = JSON.parse(fs.readFileSync(path.join(dir(name, 'saved'), 'config.json'), 'utf8')) as Record<string, unknown>;
      fs.mkdirSync(dir(name, 'reshaped'));
      fs.writeFileSync(path.join(dir(name, 'reshaped'), 'config.json'), JSON.stringify(reshapeConfig(saved, c.overrides)));
      models[dir(name, 'model')] = dir(name, 'reshaped');
    }
    python(['make-from', JSON.stringify({ models, seed: 0, noise: 0.15, prompts: HF_PROMPTS, new_tokens: HF_NEW_TOKENS })]);
    for (const name of Object.keys(CASES)) {
      const ckpt = readCheckpoint(dir(name, 'model'));
      const { arch, cfg } = resolveArchitecture(ckpt.config);
      const ref = JSON.parse(fs.readFileSync(path.join(dir(name, 'model'), 'reference.json'), 'utf8')) as { logits: number[][] };
      const session = await DecoderSession.create(arch, cfg, ckpt.weights, { logits: 'all', threads: 1 });
      for (const [i, ids] of HF_PROMPTS.entries()) {
        expect(maxAbsDiff(await session.prefill(ids), Float32Array.from(ref.logits[i])), `${name}, prompt ${i}`).toBeLessThan(1e-4);
      }
      await session.release();
    }
  });
});
