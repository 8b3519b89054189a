/**
 * `smox` with no arguments: the workbench. Starts the engine worker, renders the Ink app until
 * the person quits, then ends the worker (releasing its models). Ink exits on Ctrl-C by
 * default; here Ctrl-C belongs to the app (cancel the step, or quit when pressed twice).
 */
import { render } from 'ink';
import React from 'react';
import { createWorkerBridge } from '../engine/worker-bridge.js';
import { App } from './App.js';
import { historyFile } from './line-history.js';
import { colorAllowed, makeTheme, ThemeProvider } from './theme.js';

const EXIT_USAGE = 2;

export interface WorkbenchOptions {
  /** `smox --debug`: failures show their stack. */
  debug?: boolean;
}

export async function main(opts: WorkbenchOptions = {}): Promise<number> {
  if (!process.stdin.isTTY) {
    // Ink reads keys in raw mode, which only a terminal has.
    process.stderr.write('smox: error: the workbench needs a terminal; for scripts run one step at a time (smox --help)\n');
    return EXIT_USAGE;
  }
  const bridge = createWorkerBridge();
  // Start the engine while the first frame draws.
  void bridge.ready();
  let force = false;
  const app = render(
    <ThemeProvider theme={makeTheme(colorAllowed(process.stdout))}>
      <App bridge={bridge} cwd={process.cwd()} historyFile={historyFile()} debug={opts.debug} onExit={(o) => (force = o.force)} />
    </ThemeProvider>,
    { exitOnCtrlC: false },
  );
  await app.waitUntilExit();
  await bridge.close({ force });
  return 0;
}

export default main;
