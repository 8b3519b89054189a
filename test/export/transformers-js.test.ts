/**
 * Our ONNX export in its real client: transformers.js' pipeline('text-generation') loads the
 * exported directory (transformers.js layout) and greedy-decodes the same ids and text as our
 * sampler — the embedded GPT-2, a LLaMA (GQA, RoPE, position_ids) and that LLaMA quantized to
 * int4 (MatMulNBits). transformers.js is a dependency of smolbox, run in this process.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { transformersJsGreedy } from '../../bench/peers/transformers-js.js';
import { TINY_LLAMA } from '../transforms/fixtures.js';
import { toolWorkspace, writeTinyModel } from '../tools/fixtures.js';

const N = 16;
const { cwd, step } = toolWorkspace('smolbox-tjs-');

describe('ONNX exports in transformers.js', () => {
  it('gpt2 (embedded), llama and int4 llama: pipeline("text-generation") gives our greedy ids and text', async () => {
    writeTinyModel(path.join(cwd, 'llama'), TINY_LLAMA, 5);
    await step(['transform/quantizer', '--model_path', 'llama', '--precision', '4', '--output_model_path', 'llama-q4']);
    const cases = [
      { model: 'builtin:shakespeare-char', prompt: 'ROMEO:\n' },
      { model: 'llama', prompt: 'the king said ' },
      { model: 'llama-q4', prompt: 'the king said ' },
    ];
    const want = [];
    const jobs = [];
    for (const [i, c] of cases.entries()) {
      const ours = await step(['infer/sampler', '--model_path', c.model, '--prompt', c.prompt, '--max_new_tokens', String(N), '--no-do-sample']);
      want.push({ promptIds: ours.prompt_ids, ids: ours.generated_ids, text: ours.text });
      await step(['io/exporter', '--model_path', c.model, '--export_format', 'onnx', '--export_model_path', `onnx-${i}`]);
      jobs.push({ dir: path.join(cwd, `onnx-${i}`), prompt: c.prompt, n: N });
    }
    expect(want.map((w) => (w.ids as number[]).length)).toEqual(cases.map(() => N));
    expect(await transformersJsGreedy(jobs)).toEqual(want);
  });
});
