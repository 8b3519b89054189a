/**
 * Renders the workbench with ink-testing-library against the in-process bridge, the demo user
 * tools and a fresh directory, and waits on frames by condition (never a fixed sleep).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { render } from 'ink-testing-library';
import React from 'react';
import { createInProcessBridge } from '../../src/engine/in-process-bridge.js';
import type { EngineBridge } from '../../src/engine/worker-bridge.js';
import type { EngineLike } from '../../src/engine/worker-host.js';
import { App } from '../../src/tui/App.js';
import type { Step } from '../../src/tui/steps.js';
import { makeTheme, ThemeProvider } from '../../src/tui/theme.js';
import { stubEngine } from './fixtures.js';

export const KEYS = {
  tab: '\t',
  enter: '\r',
  up: '\u001B[A',
  down: '\u001B[B',
  left: '\u001B[D',
  ctrlLeft: '\u001B[1;5D',
  ctrlA: '\u0001',
  ctrlW: '\u0017',
  ctrlC: '\u0003',
  ctrlD: '\u0004',
};

/**
 * Lets React run the effects of the last commit (passive effects, scheduled by setImmediate,
 * a few turns after Ink draws the frame), so a check after a key sees the app settled. Keys
 * need no settling: the prompt's one listener folds each key in order whenever it arrives
 * (bench.write relies on that). Event-loop turns, not a clock: it waits for queued work,
 * never for time to pass.
 */
const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

const stripCodes = (f: string) => f.replace(/\u001B\[[0-9;]*m/g, '');

export interface Bench {
  cwd: string;
  historyFile: string;
  bridge: EngineBridge;
  /** The current frame without escape codes. */
  frame(): string;
  /** Every frame so far, joined. */
  all(): string;
  /** The frame with its escape codes. */
  raw(): string;
  /** What the prompt holds (Ink trims trailing blanks). */
  promptText(): string;
  /** Steps finished so far, oldest first. */
  finished: Step[];
  /** Writes text as one chunk (as a paste arrives) and waits until the prompt shows it. */
  type(text: string): Promise<void>;
  press(key: string): Promise<void>;
  /** Writes a chunk and returns at once, as keys arrive faster than the app draws. */
  write(chunk: string): void;
  waitFor(pred: (frame: string) => boolean, what: string): Promise<string>;
  exited: () => { force: boolean } | null;
  cleanup(): Promise<void>;
}

export interface BenchOptions {
  toolsDir: string;
  columns?: number;
  /** The engine the in-process bridge serves: a stub by default, a real Engine for chat tests. */
  engine?: EngineLike;
  cwd?: string;
  historyFile?: string;
  /** As `smox --debug` opens it. */
  debug?: boolean;
  /** The app's clock. */
  now?: () => number;
}

export async function openWorkbench(opts: BenchOptions): Promise<Bench> {
  const cwd = opts.cwd ?? fs.mkdtempSync(path.join(os.tmpdir(), 'smox-tui-'));
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-tui-cfg-'));
  const historyFile = opts.historyFile ?? path.join(configDir, 'workbench_history');
  const env = { ...process.env, SMOLBOX_TOOLS_PATH: opts.toolsDir, SMOLBOX_CONFIG_DIR: configDir };
  const bridge = createInProcessBridge({ engine: opts.engine ?? stubEngine(), env });
  let exit: { force: boolean } | null = null;
  const finished: Step[] = [];
  const ui = render(
    <ThemeProvider theme={makeTheme(false)}>
      <App
        bridge={bridge}
        cwd={cwd}
        historyFile={historyFile}
        env={env}
        columns={opts.columns ?? 100}
        rows={40}
        onExit={(o) => (exit = o)}
        onStepFinished={(s) => finished.push(s)}
        debug={opts.debug}
        now={opts.now}
      />
    </ThemeProvider>,
  );
  const raw = () => ui.lastFrame() ?? '';
  const frame = () => stripCodes(raw());
  const promptText = () => {
    // A long line wraps under itself, indented past the prompt sign.
    const lines = frame().split('\n');
    // `smox› ` takes lines, `chat› ` messages (chat mode); the same width.
    const at = lines.findIndex((l) => l.startsWith('smox› ') || l.startsWith('chat› '));
    if (at < 0) return '';
    let text = lines[at].slice('smox› '.length).trimEnd();
    for (let i = at + 1; i < lines.length && lines[i].startsWith('      ') && lines[i].trim() !== ''; i++) text += ` ${lines[i].trim()}`;
    return text.startsWith('a tool or command (Tab') || text.startsWith('a message for the model (') ? '' : text;
  };
  const waitFor = async (pred: (f: string) => boolean, what: string) => {
    const deadline = Date.now() + 10_000;
    while (!pred(frame())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last frame:\n${frame()}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    await settle();
    return frame();
  };
  const bench: Bench = {
    cwd,
    historyFile,
    bridge,
    frame,
    all: () => ui.frames.map(stripCodes).join('\n'),
    raw,
    promptText,
    finished,
    async type(text) {
      // Blanks are left out of the comparison: wrapping and Ink's trimming move them.
      const squash = (s: string) => s.replace(/\s/g, '');
      const before = promptText();
      const want = squash(text);
      ui.stdin.write(text);
      await waitFor(() => promptText() !== before && squash(promptText()).endsWith(want), `the prompt to end with "${text}"`);
    },
    async press(key) {
      ui.stdin.write(key);
      await settle();
    },
    write: (chunk) => ui.stdin.write(chunk),
    waitFor,
    exited: () => exit,
    async cleanup() {
      ui.unmount();
      await bridge.close();
    },
  };
  // The engine starts and the tool modules load in the background; flag completion needs them.
  await waitFor((f) => /threads +\d/.test(f) && /tools +\d/.test(f), 'the engine and the tools');
  return bench;
}
