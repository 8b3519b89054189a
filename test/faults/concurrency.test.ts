/**
 * Two writers on one output (issue 12 item 8): the second tool aimed at an output a running
 * step writes stops at once with one line naming the path and the holder, and `smox init` /
 * `reset` refuse while a step writes into `.smolbox/`; the running step's output ends whole.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import initCmd from '../../commands/init.js';
import resetCmd from '../../commands/reset.js';
import type { ToolEvent } from '../../src/core/events.js';
import { readState } from '../../src/core/state.js';
import { Engine } from '../../src/engine/engine.js';
import { runTool } from '../../src/engine/run-tool.js';
import { readCheckpoint } from '../../src/models/checkpoint.js';
import { runCommand } from '../commands/run-command.js';
import { run, writeTinyModel } from '../tools/fixtures.js';
import { tally } from './inject.js';

const engine = new Engine({ threads: 1 });
let cwd: string;
beforeAll(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-concurrent-'));
  writeTinyModel(path.join(cwd, 'tiny'));
  fs.writeFileSync(path.join(cwd, 'train.txt'), 'the cat sat on the mat. the dog sat on the log. '.repeat(40));
});
afterAll(async () => {
  await engine.release();
  fs.rmSync(cwd, { recursive: true, force: true });
});

const LINE = ['train/finetuner', '--model-path', 'tiny', '--dataset-path', 'train.txt', '--max-seq-length', '32', '--batch-size', '4', '--learning-rate', '0.01', '--seed', '3', '--val-fraction', '0.1', '--max-steps', '4', '--save-every', '1'];

/** Runs `line` and calls `during` once, when the run reports its second step. */
async function runWhile(line: string[], during: () => Promise<void>): Promise<{ ok: boolean; error?: string }> {
  let pending: Promise<void> | undefined;
  const [name, ...argv] = line;
  const out = await runTool(name, argv, {
    cwd, engine,
    sink: (e: ToolEvent) => {
      if (e.type === 'progress' && e.label === 'train' && e.current === 2 && !pending) pending = during();
    },
  });
  await pending;
  return out;
}

describe('one writer per output', () => {
  it('a second finetuner on the same output is refused with the path and the holder, the first ends whole', async () => {
    let second: Awaited<ReturnType<typeof run>> | undefined;
    const first = await runWhile([...LINE, '--output-model-path', 'shared'], async () => {
      second = await run(cwd, engine, [...LINE, '--seed', '4', '--output-model-path', 'shared']);
    });
    expect(first.ok, first.error).toBe(true);
    const target = path.join(cwd, 'shared');
    expect(second?.ok).toBe(false);
    expect(second?.error).toBe(
      `${target} is being written by train/finetuner (pid ${process.pid}, since ${second?.error?.match(/since (\S+)\)/)?.[1]}); wait for it to finish, or pass another --output_model_path`,
    );
    // The first run's own result: its step count, no optimizer state of another run.
    expect(readCheckpoint(target).provenance?.metrics?.steps).toBe(4);
    expect(fs.existsSync(path.join(target, 'training_state'))).toBe(false);
    expect(fs.readdirSync(cwd).filter((f) => f.startsWith('.shared'))).toEqual([]);
    tally('concurrent writers', { cases: 1, faults: 1, lost: 0 });
  });

  it('smox init and reset refuse while a step writes into .smolbox/, and work once it is done', async () => {
    const refusals: string[] = [];
    const step = await runWhile(LINE, async () => {
      for (const cmd of [initCmd, resetCmd]) await runCommand(cmd, cwd).catch((e: Error) => refusals.push(e.message));
    });
    expect(step.ok, step.error).toBe(true);
    expect(refusals).toHaveLength(2);
    for (const [i, msg] of refusals.entries()) {
      expect(msg).toMatch(new RegExp(`^smox ${['init', 'reset'][i]}: train/finetuner \\(pid ${process.pid}, since \\S+\\) is writing \\S+\\.smolbox/[0-9a-f-]{36}; wait for it to finish or stop it first$`));
    }
    // The step's output is whole and the state points at it.
    const out = readState(cwd)!.model_path!;
    expect(readCheckpoint(path.join(cwd, out)).provenance?.metrics?.steps).toBe(4);
    expect((await runCommand(initCmd, cwd)).code).toBe(0);
    tally('init during a step', { cases: 2, faults: 2, lost: 0 });
  });
});
