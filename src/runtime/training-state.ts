/**
 * What a checkpoint needs beyond the model to resume training exactly: the AdamW moments and
 * the step count, in `<output>/training_state/` (optimizer.safetensors + trainer_state.json),
 * next to a normal Hugging Face model directory, written into the checkpoint while it is built
 * so both are swapped in together. A run's final save writes none, so a finished output is a
 * plain model directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic-write.js';
import { UserError } from '../core/tool.js';
import { readSafetensors, writeSafetensors } from '../models/safetensors.js';
import type { Weights } from '../models/tensor.js';

export const TRAINING_STATE_DIR = 'training_state';

export interface OptimizerState {
  step: number;
  m: Weights;
  v: Weights;
}

/** trainer_state.json: where the run stands and the settings a resume must share. */
export interface TrainerState {
  /** Optimizer steps taken. */
  step: number;
  totalSteps: number;
  /** Settings that must not change across a resume (batch size, sequence length, seed, data, …). */
  settings: Record<string, unknown>;
  /** The curve so far. */
  curve: TrainingCurve;
}

export interface TrainingCurve {
  /** Mean training loss per optimizer step, in order from step 1. */
  loss: number[];
  /** Evaluation losses with the step they were taken after. */
  eval: { step: number; loss: number }[];
}

export function writeTrainingState(modelDir: string, opt: OptimizerState, state: TrainerState): void {
  const dir = path.join(modelDir, TRAINING_STATE_DIR);
  fs.mkdirSync(dir, { recursive: true });
  const tensors = new Map();
  for (const [name, t] of opt.m) tensors.set(`m.${name}`, t);
  for (const [name, t] of opt.v) tensors.set(`v.${name}`, t);
  writeSafetensors(path.join(dir, 'optimizer.safetensors'), tensors, { metadata: { step: String(opt.step) } });
  writeFileAtomic(path.join(dir, 'trainer_state.json'), JSON.stringify(state, null, 2) + '\n');
}

export function hasTrainingState(modelDir: string): boolean {
  return fs.existsSync(path.join(modelDir, TRAINING_STATE_DIR, 'trainer_state.json'));
}

export function readTrainingState(modelDir: string): { optimizer: OptimizerState; state: TrainerState } {
  const dir = path.join(modelDir, TRAINING_STATE_DIR);
  let state: TrainerState;
  try {
    state = JSON.parse(fs.readFileSync(path.join(dir, 'trainer_state.json'), 'utf8')) as TrainerState;
  } catch {
    throw new UserError(`--resume: ${modelDir} holds no readable training state (${TRAINING_STATE_DIR}/trainer_state.json); start without --resume`);
  }
  const { weights } = readSafetensors(path.join(dir, 'optimizer.safetensors'));
  const m: Weights = new Map();
  const v: Weights = new Map();
  for (const [name, t] of weights) {
    if (name.startsWith('m.')) m.set(name.slice(2), t);
    else if (name.startsWith('v.')) v.set(name.slice(2), t);
  }
  return { optimizer: { step: state.step, m, v }, state };
}
