import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/core/parse-args.js';
import { listTools, loadTool } from '../../src/core/registry.js';
import { AUTORESOLVE, type ToolContext, UserError } from '../../src/core/tool.js';

/** The seed's arguments and defaults (shared/seed/TOOLS.md) that must survive unchanged. */
const SEED: Record<string, Record<string, unknown>> = {
  'io/importer': { model_path: AUTORESOLVE, device: 'auto' },
  'io/exporter': { model_path: AUTORESOLVE, device: 'auto', export_model_path: 'export_model', export_format: 'pt' },
  'infer/sampler': {
    model_path: AUTORESOLVE, prompt: 'Once upon a time', max_new_tokens: 50, do_sample: true,
    temperature: 0.6, top_k: 50, top_p: 0.95, device: 'auto', repetition_penalty: 1, seed: null,
  },
  'infer/tweaker': { model_path: AUTORESOLVE, prompt: 'Once upon a time', deltas: '', temperature: 0.6, max_length: 100 },
  'train/finetuner': {
    model_path: AUTORESOLVE, dataset_path: AUTORESOLVE, output_model_path: AUTORESOLVE,
    // max_seq_length departs from the seed's 512: unset follows the model's positions (at most 512).
    num_train_epochs: 3, batch_size: 8, learning_rate: 5e-5, max_seq_length: null,
    max_steps: null, seed: null, resume: false, text_column: null,
  },
  'transform/editor': {
    model_path: AUTORESOLVE, output_model_path: AUTORESOLVE, reset_type: 'zero', param_pattern: '.*', param_expression: null,
  },
  'transform/pruner': { model_path: AUTORESOLVE, output_model_path: AUTORESOLVE, pruning_percentage: 0.2, layer_type: 'linear' },
  'transform/quantizer': { model_path: AUTORESOLVE, output_model_path: AUTORESOLVE, precision: 8, layer_types: ['Linear'] },
  'transform/reinitializer': {
    model_path: AUTORESOLVE, output_model_path: AUTORESOLVE, num_layers: null, model_type: null,
    hidden_size: null, num_heads: null, num_kv_heads: null, intermediate_size: null, seed: null,
  },
  'eval/perplexity': { model_path: AUTORESOLVE, dataset_path: AUTORESOLVE, max_tokens: null },
};

const ctx = { cwd: '/nowhere', action: 'run', json: false } as ToolContext;

describe('built-in tool schemas', () => {
  it.each(Object.entries(SEED))('%s keeps the seed names and defaults', async (name, want) => {
    const tool = await loadTool(name, {});
    expect(parseArgs(tool.def, []).values).toMatchObject(want);
  });

  it('every argument has help and a default that its own bounds accept', async () => {
    for (const tool of await listTools({})) {
      for (const [name, spec] of Object.entries(tool.def.args)) {
        expect(spec.help, `${tool.name} --${name}`).toMatch(/\S/);
        if (typeof spec.default === 'number') {
          const argv = [`--${name}`, String(spec.default)];
          expect(parseArgs(tool.def, argv).values[name], `${tool.name} --${name}`).toBe(spec.default);
        }
      }
    }
  });

  it.each([
    ['infer/sampler', ['--max_new_tokens', '0'], '--max_new_tokens must be ≥ 1'],
    ['infer/sampler', ['--top_p', '0'], '--top_p must be > 0 and ≤ 1'],
    ['infer/sampler', ['--temperature', '0'], '--temperature must be > 0'],
    ['train/finetuner', ['--batch_size', '0'], '--batch_size must be ≥ 1'],
    ['train/finetuner', ['--lr_scheduler', 'step'], 'cosine, linear, constant'],
    ['io/exporter', ['--export_format', 'zip'], 'pt, hf, safetensors, onnx, gguf'],
    ['transform/quantizer', ['--precision', '2'], 'one of 4, 8, 16'],
    ['transform/quantizer', ['--layer_types', 'Linear,Bogus'], 'Linear, Conv1D, Embedding'],
    ['transform/pruner', ['--pruning_percentage', '1.5'], '≤ 1'],
    ['transform/pruner', ['--layer_type', 'rnn'], 'linear, conv, embedding, all'],
    ['transform/reinitializer', ['--model_type', 'bert'], 'gpt2, llama, mistral, qwen2'],
    ['transform/reinitializer', ['--num_layers', '0'], '--num_layers must be ≥ 1'],
  ])('%s refuses %j', async (name, argv, message) => {
    const tool = await loadTool(name, {});
    expect(() => parseArgs(tool.def, argv)).toThrow(message);
  });

  it('offers the tweaker\'s list action', async () => {
    const tool = await loadTool('infer/tweaker', {});
    expect(parseArgs(tool.def, ['list']).action).toBe('list');
  });

  it('refuses --device cuda with the reason', async () => {
    const tool = await loadTool('infer/sampler', {});
    const { values } = parseArgs(tool.def, ['--device', 'cuda']);
    await expect(tool.def.run(ctx, values as never)).rejects.toThrow(
      'smolbox computes on CPU through onnxruntime',
    );
  });

  it('a tool whose engine has not landed says so plainly', async () => {
    const { notAvailableYet } = await import('../../tools/shared.js');
    const err = notAvailableYet('x/y');
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/^x\/y: not available yet in this version of smolbox$/);
  });
});
