/**
 * A session with a fine-tune cancelled and resumed by `--resume --output_model_path X` alone,
 * exported with export-script and replayed line by line in another directory: the replay runs
 * the fine-tune whole, and its output hashes to what the resumed run made.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readHistory } from '../../src/core/history.js';
import { splitCommandLine } from '../../src/core/parse-args.js';
import { loadCommand } from '../../src/core/registry.js';
import { Engine } from '../../src/engine/engine.js';
import { runTool } from '../../src/engine/run-tool.js';
import { runCommand } from '../commands/run-command.js';
import { run, writeTinyModel } from './fixtures.js';

const engine = new Engine({ threads: 1 });
afterAll(() => engine.release());

const TEXT = 'the cat sat on the mat. the dog sat on the log. a cat and a dog sat on a mat and a log.\n';

/** A directory holding the session's local inputs: the tiny model and the text. */
function workspace(): string {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-resume-replay-'));
  writeTinyModel(path.join(cwd, 'tiny'));
  fs.writeFileSync(path.join(cwd, 'train.txt'), TEXT.repeat(30));
  return cwd;
}

/** Runs one `smox …` line of a script in `cwd`, as bash would run smox there. */
async function smoxLine(cwd: string, line: string): Promise<void> {
  const [, name, ...argv] = splitCommandLine(line);
  const command = await loadCommand(name);
  if (command) {
    const { code } = await runCommand(command, cwd, argv);
    expect(code, line).toBe(0);
    return;
  }
  const outcome = await runTool(name, argv, { cwd, engine, sink: () => {} });
  expect(outcome.ok, `${line}: ${outcome.error}`).toBe(true);
}

describe('export-script of a cancel-then-resume session', () => {
  it('replays the fine-tune whole, to the same output hash', async () => {
    const original = workspace();
    await smoxLine(original, 'smox init');
    const controller = new AbortController();
    const cut = await runTool('train/finetuner', [
      '--model-path', 'tiny', '--dataset-path', 'train.txt', '--max-seq-length', '32', '--batch-size', '4',
      '--learning-rate', '0.01', '--max-steps', '6', '--save-every', '2',
    ], {
      cwd: original, engine, signal: controller.signal,
      sink: (e) => {
        if (e.type === 'progress' && e.label === 'train' && e.current === 3) controller.abort();
      },
    });
    expect(cut.failure).toBe('cancelled');
    const output = readHistory(original).at(-1)!.args.output_model_path as string;
    expect(output).toMatch(/^\.smolbox[/\\][0-9a-f-]{36}$/);
    const resumed = await run(original, engine, ['train/finetuner', '--resume', '--output_model_path', output]);
    expect(resumed.ok, resumed.error).toBe(true);

    const script = (await runCommand((await loadCommand('export-script'))!, original)).lines.join('\n').split('\n');
    const steps = script.filter((l) => l.startsWith('smox '));
    expect(steps).toHaveLength(2);
    expect(steps[1]).not.toContain('--resume');

    const replay = workspace();
    for (const line of steps) await smoxLine(replay, line);
    const made = (cwd: string) => readHistory(cwd).filter((r) => r.name === 'train/finetuner' && r.status === 'ok');
    const [a] = made(original);
    const [b] = made(replay);
    expect(b.args.output_model_path).not.toBe(a.args.output_model_path);
    expect(b.outputs?.output_model_path).toMatch(/^[0-9a-f]{64}$/);
    expect(b.outputs).toEqual(a.outputs);
  });
});
