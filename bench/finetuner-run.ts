/**
 * One shape of bench:train as a user trains it: the real `train/finetuner` tool, run by runTool
 * as `smox train/finetuner` runs it (no engine handed in, so the tool makes the process's own
 * and reads the model from disk), on a random model of the shape made by
 * `transform/reinitializer` in a process of its own (the built CLI), so that this process's
 * peak RSS is the finetuner's alone. What it reports is the tool's own steady-state rate
 * (runtime/step-clock.ts), set beside bench/train-run.ts's Trainer.step timings.
 *
 * The text is random words over a character tokenizer, in a plain file: tiny_shakespeare has a
 * validation split, and the finetuner evaluates on it after its last step (minutes of forward
 * passes at these shapes); a file with --val_fraction 0 has none. Token ids do not change the
 * graph or its cost, only which embedding rows the step gathers.
 *
 * Forked by bench/train.ts with a FinetunerSpec as argv[2]; answers one message,
 * FinetunerResult or `{ type: 'error', message }`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Random } from '../src/core/random.js';
import type { ToolEvent } from '../src/core/events.js';
import { runTool } from '../src/engine/run-tool.js';
import { charTokenizerFiles } from '../src/models/tokenizer.js';
import { WARMUP_STEPS } from '../src/runtime/step-clock.js';
import { answerParent } from './child.js';

export interface FinetunerSpec {
  /** config.json of the model (bench/train-shapes.ts). */
  config: Record<string, unknown>;
  batch: number;
  seq: number;
  /** Steps after the finetuner's WARMUP_STEPS warm-up steps: the ones its rate is taken over. */
  steps: number;
  threads: number;
  lr: number;
  weightDecay: number;
  gradClip: number;
}

export interface FinetunerResult {
  type: 'result';
  /** The finetuner's steady-state tokens/s, unrounded (its last progress event). */
  tokensPerS: number;
  /** Seconds of its warm-up steps (its warmup_s metric). */
  warmupS: number;
  /** Steps its rate is taken over. */
  steadySteps: number;
  firstLoss: number;
  peakRssMb: number;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';

/** Random words, enough for `blocks` blocks of seq + 1 characters and then some. */
function randomText(blocks: number, seq: number): string {
  const rng = new Random(3);
  const words: string[] = [];
  let length = 0;
  while (length < 2 * blocks * (seq + 1)) {
    const word = Array.from({ length: 1 + rng.int(8) }, () => ALPHABET[rng.int(ALPHABET.length)]).join('');
    words.push(word);
    length += word.length + 1;
  }
  return `${words.join(' ')}\n`;
}

/** The built CLI: this file runs as dist/bench/finetuner-run.js. */
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

/** Writes `dir/model` (random weights of `config`, character tokenizer) and `dir/train.txt`. */
function makeWorkspace(dir: string, spec: Pick<FinetunerSpec, 'config' | 'batch' | 'seq' | 'steps'>): void {
  const base = path.join(dir, 'base');
  fs.mkdirSync(base, { recursive: true });
  const { tokenizerJson, tokenizerConfig } = charTokenizerFiles(` \n${ALPHABET}`);
  fs.writeFileSync(path.join(base, 'config.json'), JSON.stringify(spec.config));
  fs.writeFileSync(path.join(base, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  fs.writeFileSync(path.join(base, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
  fs.writeFileSync(path.join(dir, 'train.txt'), randomText((WARMUP_STEPS + spec.steps) * spec.batch, spec.seq));
  const r = spawnSync(process.execPath, [CLI, 'transform/reinitializer', '--model_path', 'base', '--output_model_path', 'model', '--seed', '0', '--json'], {
    cwd: dir, encoding: 'utf8', maxBuffer: 16 * 2 ** 20,
  });
  if (r.status !== 0) throw new Error(`transform/reinitializer failed: ${(r.stderr || r.stdout || '').trim().split('\n').at(-1) ?? `exit ${r.status}`}`);
}

/** train/finetuner on `dir/model` and `dir/train.txt` (makeWorkspace), in this process. */
async function finetunerRun(dir: string, spec: FinetunerSpec): Promise<FinetunerResult> {
  const argv = [
    '--model_path', 'model', '--dataset_path', 'train.txt', '--output_model_path', 'out', '--val_fraction', '0', '--seed', '0',
    '--max_steps', String(WARMUP_STEPS + spec.steps), '--batch_size', String(spec.batch), '--max_seq_length', String(spec.seq),
    '--learning_rate', String(spec.lr), '--lr_scheduler', 'constant', '--weight_decay', String(spec.weightDecay), '--grad_clip', String(spec.gradClip),
  ];
  let tokensPerS = NaN;
  let firstLoss = NaN;
  const sink = (e: ToolEvent) => {
    if (e.type === 'progress' && e.label === 'train' && typeof e.info?.tokens_per_s === 'number') tokensPerS = e.info.tokens_per_s;
    if (e.type === 'metric' && e.name === 'loss' && e.step === 1) firstLoss = e.value;
  };
  const outcome = await runTool('train/finetuner', argv, { cwd: dir, sink, json: true, config: { threads: spec.threads } });
  if (!outcome.ok) throw new Error(`train/finetuner failed: ${outcome.error}`);
  const metrics = outcome.result!.metrics as Record<string, number>;
  return {
    type: 'result', tokensPerS, warmupS: metrics.warmup_s, steadySteps: metrics.steps - WARMUP_STEPS, firstLoss,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

if (process.send && process.argv[1] === fileURLToPath(import.meta.url)) {
  await answerParent(async (spec: FinetunerSpec) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-bench-finetuner-'));
    try {
      makeWorkspace(dir, spec);
      return await finetunerRun(dir, spec);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
