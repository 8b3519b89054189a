import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { ToolEvent } from '../../src/core/events.js';
import { readHistory } from '../../src/core/history.js';
import { splitCommandLine } from '../../src/core/parse-args.js';
import { readState } from '../../src/core/state.js';
import { Engine } from '../../src/engine/engine.js';
import { runTool } from '../../src/engine/run-tool.js';
import { readCheckpoint } from '../../src/models/checkpoint.js';
import { collectGarbage } from '../../src/runtime/collect-garbage.js';
import { run, writeTinyModel } from './fixtures.js';

const engine = new Engine({ threads: 1 });
let cwd: string;
const TEXT = 'the cat sat on the mat. the dog sat on the log. a cat and a dog sat on a mat and a log.\n';

beforeEach(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-train-'));
  writeTinyModel(path.join(cwd, 'tiny'));
  fs.writeFileSync(path.join(cwd, 'train.txt'), TEXT.repeat(30));
});
afterAll(() => engine.release());

const BASE = ['--model-path', 'tiny', '--dataset-path', 'train.txt', '--max-seq-length', '32', '--batch-size', '4', '--learning-rate', '0.01', '--seed', '3', '--val-fraction', '0.1'];

function losses(events: ToolEvent[], name = 'loss'): number[] {
  return events.flatMap((e) => (e.type === 'metric' && e.name === name ? [e.value] : []));
}

describe('train/finetuner', () => {
  it('lowers the loss on a small text and writes a plain Hugging Face directory with the curve', async () => {
    const r = await run(cwd, engine, ['train/finetuner', ...BASE, '--max-steps', '40', '--warmup-steps', '4', '--lr-scheduler', 'cosine', '--output-model-path', 'out']);
    expect(r.ok, r.error).toBe(true);
    const curve = losses(r.events);
    expect(curve).toHaveLength(40);
    expect(curve[0]).toBeGreaterThan(3.5); // ≈ ln(62) for a near-uniform start
    expect(Math.min(...curve.slice(-5))).toBeLessThan(2.2);
    expect(losses(r.events, 'eval_loss').length).toBeGreaterThan(0);
    // The rate leaves out the two warm-up steps, whose time is reported apart.
    const result = r.events.find((e) => e.type === 'result');
    const metrics = result?.type === 'result' ? result.result.metrics! : {};
    expect(metrics.tokens_per_s).toBeGreaterThan(0);
    expect(metrics.warmup_s).toBeGreaterThan(0);
    const message = result?.type === 'result' ? result.result.message : '';
    expect(message).toMatch(new RegExp(`, ${metrics.tokens_per_s} tokens/s after ${metrics.warmup_s.toFixed(1)} s of warm-up$`));
    const out = path.join(cwd, 'out');
    expect(fs.existsSync(path.join(out, 'training_state'))).toBe(false);
    const ckpt = readCheckpoint(out);
    expect(ckpt.provenance?.tool).toBe('train/finetuner');
    expect((ckpt.provenance?.training as { loss: number[] }).loss).toHaveLength(40);
    expect(readState(cwd)?.model_path).toBe('out');
    expect(readHistory(cwd).at(-1)).toMatchObject({ name: 'train/finetuner', status: 'ok' });
    const after = await run(cwd, engine, ['infer/sampler', '--max-new-tokens', '5']);
    expect(after.ok, after.error).toBe(true);
  });

  it('lets the engine\'s copy of the input model go while it trains, and the model is read again afterwards', async () => {
    // Only weak references here: the test must not be what keeps the input alive.
    const { input, firstWeight } = await (async () => {
      const loaded = await engine.model('tiny', { cwd });
      return { input: new WeakRef(loaded.weights), firstWeight: loaded.weights.values().next().value!.data.slice() };
    })();
    let collectedWhileTraining: boolean | undefined;
    const [name, ...argv] = ['train/finetuner', ...BASE, '--max-steps', '3', '--output-model-path', 'freed'];
    const r = await runTool(name, argv, {
      cwd, engine,
      sink: (e) => {
        if (e.type !== 'progress' || e.label !== 'train' || e.current !== 2) return;
        collectGarbage();
        collectedWhileTraining = input.deref() === undefined;
      },
    });
    expect(r.ok, r.error).toBe(true);
    // Only the trainer's copy was alive during the steps (the engine kept the input's before).
    expect(collectedWhileTraining).toBe(true);
    const again = await engine.model('tiny', { cwd });
    expect(again.weights).not.toBe(input.deref());
    expect(again.weights.values().next().value!.data).toEqual(firstWeight);
  });

  it('says how many steps it trained, in the singular for one, and that one step is warm-up only', async () => {
    const r = await run(cwd, engine, ['train/finetuner', ...BASE, '--max-steps', '1', '--output-model-path', 'one']);
    expect(r.ok, r.error).toBe(true);
    const result = r.events.find((e) => e.type === 'result');
    expect(result?.type === 'result' && result.result.message).toMatch(/^trained 1 step: loss [\d.]+, eval loss [\d.]+, \d+ tokens\/s in warm-up \([\d.]+ s; later steps run faster\)$/);
  });

  it('resumed after an interruption, ends with the same weights as an uninterrupted run', async () => {
    const line = ['train/finetuner', ...BASE, '--max-steps', '6', '--save-every', '2', '--grad-accum', '2'];
    const whole = await run(cwd, engine, [...line, '--output-model-path', 'whole']);
    expect(whole.ok, whole.error).toBe(true);

    const controller = new AbortController();
    const events: ToolEvent[] = [];
    const [name, ...argv] = [...line, '--output-model-path', 'cut'];
    const cut = await runTool(name, argv, {
      cwd, engine, signal: controller.signal,
      sink: (e) => {
        events.push(e);
        if (e.type === 'progress' && e.label === 'train' && e.current === 3) controller.abort();
      },
    });
    expect(cut.failure).toBe('cancelled');
    expect(readHistory(cwd).at(-1)).toMatchObject({ status: 'cancelled' });
    expect(fs.existsSync(path.join(cwd, 'cut', 'training_state', 'trainer_state.json'))).toBe(true);
    expect(readCheckpoint(path.join(cwd, 'cut')).provenance?.metrics?.step).toBe(3);
    const hint = events.flatMap((e) => (e.type === 'log' ? [e.message] : [])).find((m) => m.includes('continue with: '));
    const [program, tool, ...again] = splitCommandLine(hint!.split('continue with: ')[1]);
    expect([program, tool]).toEqual(['smox', 'train/finetuner']);
    expect(again).toEqual(['--resume', '--output_model_path', 'cut']);
    // The state names another model (the whole run's) and no dataset (both were flags): the
    // checkpoint tells them.
    expect(readState(cwd)).toMatchObject({ model_path: 'whole', dataset_path: null });
    // A flag given with --resume wins over the recorded one: a batch size that does not match is refused.
    const changed = await run(cwd, engine, [tool, ...again, '--batch-size', '2']);
    expect(changed.error).toBe('--resume: batch_size was 4 in the interrupted run, now 2; resume with the same settings');

    // The printed line, as given, with the state and the seed's defaults of another day.
    const resumed = await run(cwd, engine, [tool, ...again]);
    expect(resumed.ok, resumed.error).toBe(true);
    expect(readHistory(cwd).at(-1)).toMatchObject({ status: 'ok', args: { model_path: 'tiny', dataset_path: 'train.txt', seed: 3, max_steps: 6, resume: true } });
    const a = readCheckpoint(path.join(cwd, 'whole')).weights;
    const b = readCheckpoint(path.join(cwd, 'cut')).weights;
    for (const [k, t] of a) {
      const u = b.get(k)!.data;
      let diff = 0;
      for (let i = 0; i < t.data.length; i++) diff = Math.max(diff, Math.abs(t.data[i] - u[i]));
      expect(diff, k).toBeLessThan(1e-6);
    }
  });

  it('takes its sequence length from the model when none is given, and reports a missing dataset as missing', async () => {
    // The tiny model has 64 positions, below the 512 used when a model has more.
    const line = BASE.filter((_, i) => BASE[i] !== '--max-seq-length' && BASE[i - 1] !== '--max-seq-length');
    const r = await run(cwd, engine, ['train/finetuner', ...line, '--max-steps', '1', '--output-model-path', 'fit']);
    expect(r.ok, r.error).toBe(true);
    expect(r.events.some((e) => e.type === 'log' && / × 64 tokens/.test(e.message))).toBe(true);
    const missing = await run(cwd, engine, ['train/finetuner', ...BASE, '--max-seq-length', '65', '--dataset-path', 'nope.txt', '--output-model-path', 'x']);
    expect(missing.error).toMatch(/nope\.txt/);
    expect(missing.error).not.toMatch(/max_seq_length/);
  });

  it('refuses bad input before training: positions, empty or binary data, a missing column, a resume with nothing to resume', async () => {
    const tooLong = await run(cwd, engine, ['train/finetuner', ...BASE, '--max-seq-length', '65', '--output-model-path', 'x']);
    expect(tooLong.error).toBe('--max_seq_length 65 is beyond the model\'s 64 positions; use at most 64');
    fs.writeFileSync(path.join(cwd, 'empty.txt'), '');
    expect((await run(cwd, engine, ['train/finetuner', ...BASE, '--dataset-path', 'empty.txt', '--output-model-path', 'x'])).error).toMatch(/empty\.txt/);
    fs.writeFileSync(path.join(cwd, 'blob.txt'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
    expect((await run(cwd, engine, ['train/finetuner', ...BASE, '--dataset-path', 'blob.txt', '--output-model-path', 'x'])).error).toMatch(/blob\.txt/);
    fs.writeFileSync(path.join(cwd, 'rows.jsonl'), '{"body": "the cat"}\n{"body": "the dog"}\n');
    expect((await run(cwd, engine, ['train/finetuner', ...BASE, '--dataset-path', 'rows.jsonl', '--text-column', 'text', '--output-model-path', 'x'])).error).toMatch(/text/);
    expect((await run(cwd, engine, ['train/finetuner', ...BASE, '--resume', '--output-model-path', 'x'])).error).toMatch(/--resume: .* no interrupted run/);
    expect(fs.existsSync(path.join(cwd, 'x'))).toBe(false);
    expect(readState(cwd)?.model_path ?? null).toBe(null);
  });
});
