/**
 * Our Hugging Face / safetensors and .pt exports in their real client, PyTorch + transformers:
 * a safetensors directory and a pytorch_model.bin directory load with from_pretrained, a bare
 * .pt state dict loads strictly into the model built from the config, and each greedy-decodes
 * the ids our sampler gives (AutoTokenizer decodes them to our text) — for the embedded GPT-2
 * (tied head) and an untied LLaMA with GQA. Skips visibly without python3 + torch + transformers.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TINY_LLAMA } from '../transforms/fixtures.js';
import { toolWorkspace, writeTinyModel } from '../tools/fixtures.js';

const SCRIPT = path.join(__dirname, '..', 'peers', 'hf_model.py');
const hasPeer = spawnSync('python3', ['-c', 'import torch, transformers'], { stdio: 'ignore' }).status === 0;
if (!hasPeer) console.warn('torch-load: SKIPPED — python3 with torch and transformers not found (pip install --no-index --find-links <wheels> torch transformers)');

const N = 12;
const { cwd, step } = toolWorkspace('smolbox-torch-');

interface TorchJob { dir: string; prompt: number[]; state_dict?: string }

/** transformers' greedy ids and decoded text for each job, in one Python process (torch imports slowly). */
function torchGreedy(jobs: TorchJob[]): { ids: number[]; text: string }[] {
  const r = spawnSync('python3', [SCRIPT, 'greedy', '-', JSON.stringify({ jobs, new_tokens: N })], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`hf_model.py greedy failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as { ids: number[]; text: string }[];
}

describe.skipIf(!hasPeer)('HF and .pt exports in PyTorch + transformers', () => {
  it('safetensors dir, pytorch_model.bin dir and a bare .pt state dict give our greedy ids and text (gpt2 tied, llama untied)', async () => {
    writeTinyModel(path.join(cwd, 'llama'), TINY_LLAMA, 5);
    const cases = [
      { model: 'builtin:shakespeare-char', prompt: 'ROMEO:\n' },
      { model: 'llama', prompt: 'the king said ' },
    ];
    const names: string[] = [];
    const jobs: TorchJob[] = [];
    const want: unknown[] = [];
    for (const [i, c] of cases.entries()) {
      const ours = await step(['infer/sampler', '--model_path', c.model, '--prompt', c.prompt, '--max_new_tokens', String(N), '--no-do-sample']);
      await step(['io/exporter', '--model_path', c.model, '--export_format', 'safetensors', '--export_model_path', `hf-${i}`]);
      await step(['io/exporter', '--model_path', c.model, '--export_format', 'pt', '--export_model_path', `pt-${i}`]);
      await step(['io/exporter', '--model_path', c.model, '--export_format', 'pt', '--export_model_path', `sd-${i}.pt`]);
      const prompt = ours.prompt_ids as number[];
      // The bare state dict carries no config: the safetensors export's config builds the model.
      jobs.push({ dir: path.join(cwd, `hf-${i}`), prompt }, { dir: path.join(cwd, `pt-${i}`), prompt }, { dir: path.join(cwd, `hf-${i}`), prompt, state_dict: path.join(cwd, `sd-${i}.pt`) });
      for (const k of ['safetensors', 'pytorch_model.bin', '.pt state dict']) {
        names.push(`${c.model} ${k}`);
        want.push({ name: `${c.model} ${k}`, ids: ours.generated_ids, text: ours.text });
      }
    }
    const got = torchGreedy(jobs).map((r, i) => ({ name: names[i], ...r }));
    expect(got).toEqual(want);
  }, 300_000); // six loads in one Python process, whose torch import alone takes ~25 s on a loaded machine
});
