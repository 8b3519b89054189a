/**
 * The real `smox` workbench in a real terminal (tmux): type part of a tool name, Tab, run the
 * tool, see its output and the state panel, paste a block of lines and see each run in order,
 * send a line with its Enter in one go, quit with Ctrl-D, and find the steps recorded in
 * .smolbox/state_history.jsonl. Skipped, with a message, only when tmux is not installed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, ensureBuilt } from '../cli/built-cli.js';

/** A step for the test to run: how it is typed, completed and recognised. */
interface Scenario {
  /** Lines run first (to give the tool its input). */
  setup: string[];
  /** What is typed before Tab, and what Tab must make of it. */
  partial: string;
  completed: string;
  args: string;
  tool: string;
  /** What its output shows. */
  output: RegExp;
}

/** The real sampler on the shipped model, builtin:shakespeare-char. */
const SCENARIO: Scenario = {
  setup: ['io/importer --model_path builtin:shakespeare-char'],
  partial: 'infer/sa',
  completed: 'infer/sampler',
  args: '--prompt ROMEO: --max_new_tokens 24 --seed 1',
  tool: 'infer/sampler',
  output: /ROMEO:/,
};

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux) console.warn('workbench e2e skipped: tmux is not installed (apt-get install -y tmux; .ci/run installs it)');

const session = `smox-e2e-${process.pid}`;
let cwd: string;

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

const screen = () => tmux('capture-pane', '-p', '-t', session);
/** The screen with everything scrolled off it. */
const scrollback = () => tmux('capture-pane', '-p', '-S', '-', '-t', session);
/** The lines run so far, as the scrollback echoes them (`› line` above each step's output). */
const ranLines = () =>
  scrollback()
    .split('\n')
    .filter((l) => l.startsWith('› '))
    .map((l) => l.slice(2).trimEnd());

async function waitForScreen(pred: (s: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = screen();
    if (pred(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen:\n${s}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The prompt's text (the last line starting with the prompt sign). */
const promptLine = (s: string) => s.split('\n').filter((l) => l.startsWith('smox› ')).at(-1)?.slice(6).trimEnd() ?? '';

/** Types literally, waiting until the prompt shows it (keys sent in one go would arrive as one chunk). */
async function typeText(text: string) {
  const before = promptLine(screen());
  tmux('send-keys', '-t', session, '-l', '--', text);
  await waitForScreen((s) => promptLine(s) !== before && promptLine(s).replace(/\s/g, '').endsWith(text.replace(/\s/g, '')), `"${text}" on the prompt`);
}

async function runLine(line: string, done: RegExp) {
  await typeText(line);
  tmux('send-keys', '-t', session, 'Enter');
  await waitForScreen((s) => done.test(s), `"${line}" to finish`, 120_000);
}

describe.skipIf(!hasTmux)('workbench in tmux', () => {
  beforeAll(() => {
    ensureBuilt();
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-e2e-'));
    const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-e2e-cfg-'));
    const env = `SMOLBOX_CONFIG_DIR='${configDir}' NO_COLOR=1`;
    // The shell stays after smox exits, so its exit code can be read off the screen.
    tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '40', '-c', cwd, `${env} '${process.execPath}' '${cliPath}'; echo "smox exited: $?"; sleep 600`);
  });

  afterAll(() => {
    spawnSync('tmux', ['kill-session', '-t', session]);
  });

  it('completes, runs a tool, shows the state, quits, and the history has the step', async () => {
    await waitForScreen((s) => /threads +\d/.test(s) && /tools +\d/.test(s), 'the workbench');
    for (const line of SCENARIO.setup) await runLine(line, /✓ \d/);

    await typeText(SCENARIO.partial);
    tmux('send-keys', '-t', session, 'Tab');
    await waitForScreen((s) => promptLine(s) === SCENARIO.completed, 'the completed tool name');

    await runLine(SCENARIO.args, new RegExp(`│ ✓ ${SCENARIO.tool}`));
    const s = screen();
    expect(s).toMatch(SCENARIO.output);
    expect(s).toMatch(/│ model_path +builtin:shakespeare-char/);
    expect(s).toMatch(/│ model +gpt2 · 2\.3M params/);
    expect(s).not.toMatch(/^✗/m);
    // NO_COLOR is set: the screen with its attributes holds no foreground colour.
    const painted = tmux('capture-pane', '-p', '-e', '-t', session);
    expect(painted).not.toMatch(/\u001B\[[0-9;]*(3[0-7]|9[0-7])m/);

    // A pasted block: each line runs, in order, as if typed (tmux pastes newlines as Enter).
    const block = ['set dataset_path one.txt', 'set dataset_path two.txt', 'get dataset_path'];
    const before = ranLines().length;
    tmux('set-buffer', '-b', session, `${block.join('\n')}\n`);
    tmux('paste-buffer', '-d', '-b', session, '-t', session);
    await waitForScreen(() => /› get dataset_path\ntwo\.txt\n✓/.test(scrollback()), 'the pasted lines to run');
    expect(ranLines().slice(before)).toEqual(block);

    // A line and its Enter in one send-keys: one chunk, first character and all.
    tmux('send-keys', '-t', session, 'set dataset_path three.txt', 'Enter');
    await waitForScreen(() => ranLines().length >= before + 4 && /\n│ dataset_path +three\.txt/.test(screen()), 'the sent line to run');
    expect(ranLines().at(-1)).toBe('set dataset_path three.txt');

    tmux('send-keys', '-t', session, 'C-d');
    await waitForScreen((t) => t.includes('smox exited: 0'), 'smox to exit');

    const history = fs
      .readFileSync(path.join(cwd, '.smolbox', 'state_history.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string; status: string; args: Record<string, unknown> });
    expect(history.find((r) => r.name === SCENARIO.tool)).toMatchObject({ status: 'ok' });
    expect(history.filter((r) => r.name === 'set').map((r) => r.args)).toEqual(['one.txt', 'two.txt', 'three.txt'].map((v) => expect.objectContaining({ value: v })));
  });
});
