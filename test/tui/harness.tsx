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
import { App } from '../../src/tui/App.js';
import { makeTheme, ThemeProvider } from '../../src/tui/theme.js';
import { stubEngine } from './fixtures.js';

export const KEYS = { tab: '\t', enter: '\r', up: '\u001B[A', down: '\u001B[B', ctrlC: '\u0003', ctrlD: '\u0004' };

/**
 * Lets React run the effects of the last commit: Ink draws a frame before the input handlers
 * of that render are subscribed, so a key written right after a frame would reach stale ones.
 */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface Bench {
  cwd: string;
  historyFile: string;
  bridge: EngineBridge;
  frame(): string;
  /** The frame with its escape codes. */
  raw(): string;
  /** What the prompt holds. */
  promptText(): string;
  type(text: string): Promise<void>;
  press(key: string): Promise<void>;
  waitFor(pred: (frame: string) => boolean, what: string): Promise<string>;
  exited: () => { force: boolean } | null;
  cleanup(): Promise<void>;
}

export async function openWorkbench(opts: {
  toolsDir: string;
  columns?: number;
  engine?: ReturnType<typeof stubEngine>;
  cwd?: string;
  historyFile?: string;
}): Promise<Bench> {
  const cwd = opts.cwd ?? fs.mkdtempSync(path.join(os.tmpdir(), 'smox-tui-'));
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-tui-cfg-'));
  const historyFile = opts.historyFile ?? path.join(configDir, 'workbench_history');
  const env = { ...process.env, SMOLBOX_TOOLS_PATH: opts.toolsDir, SMOLBOX_CONFIG_DIR: configDir };
  const bridge = createInProcessBridge({ engine: opts.engine ?? stubEngine(), env });
  let exit: { force: boolean } | null = null;
  const ui = render(
    <ThemeProvider theme={makeTheme(false)}>
      <App bridge={bridge} cwd={cwd} historyFile={historyFile} env={env} columns={opts.columns ?? 100} rows={40} onExit={(o) => (exit = o)} />
    </ThemeProvider>,
  );
  // ink-text-input draws its cursor with chalk.inverse; assertions read the text without codes.
  const raw = () => ui.lastFrame() ?? '';
  const frame = () => raw().replace(/\u001B\[[0-9;]*m/g, '');
  /** The text after the prompt sign, without the cursor's trailing cell. */
  const promptText = () => {
    const line = frame().split('\n').find((l) => l.startsWith('smox› ')) ?? '';
    const text = line.slice('smox› '.length).replace(/ $/, '');
    return text.startsWith('a tool or command (Tab') ? '' : text;
  };
  const waitFor = async (pred: (f: string) => boolean, what: string) => {
    const deadline = Date.now() + 10_000;
    while (!pred(frame())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last frame:\n${frame()}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return frame();
  };
  const bench: Bench = {
    cwd,
    historyFile,
    bridge,
    frame,
    raw,
    promptText,
    async press(key) {
      ui.stdin.write(key);
      await settle();
    },
    async type(text) {
      // A whole chunk at once, as a paste arrives; ink-text-input edits the value it last
      // rendered, so the next key waits until the prompt shows this one and effects have run.
      const want = promptText() + text;
      ui.stdin.write(text);
      await waitFor(() => promptText() === want, `the prompt to read "${want}"`);
      await settle();
    },
    waitFor,
    exited: () => exit,
    async cleanup() {
      ui.unmount();
      await bridge.close();
    },
  };
  // The tools are loaded in the background; completion needs them.
  await waitFor((f) => f.includes('threads') && !f.includes('threads       …'), 'the engine to be ready');
  return bench;
}
