/**
 * The README's chain on every registered family, as a user runs it: a model re-made as the
 * family by the reinitializer, sampled, fine-tuned (the loss falls), pruned, quantized,
 * sampled again and exported in every format the family can take. Parametrised by the
 * registry, so a new family file is tested by existing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ToolEvent } from '../../src/core/events.js';
import { readState } from '../../src/core/state.js';
import { Engine } from '../../src/engine/engine.js';
import { readCheckpoint } from '../../src/models/checkpoint.js';
import { architectureFor, SUPPORTED_MODEL_TYPES } from '../../src/models/index.js';
import { run, writeConfigDir } from './fixtures.js';

const engine = new Engine({ threads: 1 });
afterAll(() => engine.release());
const TEXT = 'the cat sat on the mat. the dog sat on the log. a cat and a dog sat on a mat and a log.\n';

function metric(events: ToolEvent[], name: string): number[] {
  return events.flatMap((e) => (e.type === 'metric' && e.name === name ? [e.value] : []));
}

describe('the whole chain on every family', () => {
  for (const type of SUPPORTED_MODEL_TYPES) {
    it(`${type}: reinitializer → sampler → finetuner → pruner → quantizer → sampler → exporter`, async () => {
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), `smolbox-chain-${type}-`));
      writeConfigDir(path.join(cwd, 'base'));
      fs.writeFileSync(path.join(cwd, 'train.txt'), TEXT.repeat(20));
      const step = async (line: string[]) => {
        const r = await run(cwd, engine, line);
        expect(r.ok, `${line.join(' ')}: ${r.error}`).toBe(true);
        return r;
      };

      await step(['transform/reinitializer', '--model_path', 'base', '--model_type', type, '--num_layers', '2', '--hidden_size', '64', '--num_heads', '4', '--seed', '1']);
      const remade = readState(cwd)!.model_path!;
      expect(readCheckpoint(path.join(cwd, remade)).config.model_type).toBe(type);
      await step(['infer/sampler', '--prompt', 'the ', '--max_new_tokens', '6', '--seed', '2']);

      const train = await step([
        'train/finetuner', '--dataset_path', 'train.txt', '--max_seq_length', '32', '--batch_size', '4',
        '--learning_rate', '0.01', '--max_steps', '20', '--warmup_steps', '2', '--seed', '3',
      ]);
      const loss = metric(train.events, 'loss');
      expect(loss).toHaveLength(20);
      expect(Math.min(...loss.slice(-3))).toBeLessThan(loss[0] - 0.5);

      await step(['transform/pruner', '--pruning_percentage', '0.2']);
      await step(['transform/quantizer', '--precision', '8']);
      const after = await step(['infer/sampler', '--prompt', 'the ', '--max_new_tokens', '6', '--seed', '2']);
      expect(after.result?.metrics?.new_tokens).toBe(6);

      const formats = ['hf', 'pt', 'onnx', ...(architectureFor({ model_type: type }).gguf ? ['gguf'] : [])];
      for (const format of formats) {
        const r = await step(['io/exporter', '--export_format', format, '--export_model_path', `export-${format}`]);
        expect((r.result?.data as { bytes: number }).bytes).toBeGreaterThan(0);
      }
      if (!architectureFor({ model_type: type }).gguf) {
        const r = await run(cwd, engine, ['io/exporter', '--export_format', 'gguf', '--export_model_path', 'x']);
        expect(r.error).toMatch(new RegExp(`llama.cpp has no ${type} architecture`));
      }
      fs.rmSync(cwd, { recursive: true, force: true });
    });
  }
});
