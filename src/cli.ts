#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=68719476736:${GLIBC_TUNABLES} node
/**
 * `smox` / `smolbox`: no arguments opens the workbench; `smox <command> …` runs an internal
 * command from commands/; `smox <tool> …` runs one tool step and exits.
 * Exit codes: 0 ok, 1 the tool failed, 2 usage error, 130 interrupted (143 terminated).
 *
 * Cold start matters (`smox state` should cost little more than `node -e 0`), so everything
 * beyond the registry is imported dynamically, on the path that needs it.
 *
 * The shebang starts node with glibc malloc settings that make training steps reuse memory
 * instead of faulting it in again (why, and what it measured: runtime/allocator-tuning.ts;
 * a test keeps the two in step). Elsewhere than glibc the variable is ignored.
 */
import fs from 'node:fs';
import { commandNames, loadCommand } from './core/registry.js';
import { UserError } from './core/tool.js';

const EXIT_OK = 0;
const EXIT_TOOL_ERROR = 1;
const EXIT_USAGE = 2;
const EXIT_SIGINT = 130;
const EXIT_SIGTERM = 143;

/** Flags that mean the same to every command and tool, wherever they appear. */
interface GlobalFlags {
  json: boolean;
  debug: boolean;
}

function splitGlobalFlags(argv: string[]): { rest: string[]; flags: GlobalFlags } {
  const flags = { json: argv.includes('--json'), debug: argv.includes('--debug') };
  return { rest: argv.filter((a) => a !== '--json' && a !== '--debug'), flags };
}

/** NO_COLOR (https://no-color.org) or a non-terminal stderr turn colours off. */
function useColor(): boolean {
  return Boolean(process.stderr.isTTY) && !process.env.NO_COLOR;
}

function version(): string {
  // dist/src/cli.js and src/cli.ts sit at different depths below package.json.
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(fs.readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'smolbox' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return 'unknown';
}

async function printError(err: unknown, flags: GlobalFlags): Promise<void> {
  const { formatError } = await import('./core/render-text.js');
  const message = err instanceof Error ? err.message : String(err);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ type: 'error', message: message.split('\n')[0] })}\n`);
  } else {
    process.stderr.write(`${formatError(message, useColor())}\n`);
  }
  if (flags.debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
}

async function mainHelpText(): Promise<string> {
  const [{ mainHelp }, { listCommands, loadAllTools }] = await Promise.all([import('./core/help.js'), import('./core/registry.js')]);
  const [commands, { tools }] = await Promise.all([listCommands(), loadAllTools()]);
  return mainHelp({
    version: version(),
    commands: commands.map((c) => ({ name: c.name, summary: c.def.summary, usage: c.def.usage })),
    tools: tools.map((t) => ({ name: t.name, category: t.category, summary: t.def.summary, origin: t.origin })),
  });
}

/** The workbench, once src/tui/main.ts exists; until then the help. */
async function openWorkbench(flags: GlobalFlags): Promise<number> {
  const entry = new URL('./tui/main.js', import.meta.url);
  if (!fs.existsSync(entry)) {
    process.stdout.write(`${await mainHelpText()}\n`);
    return EXIT_OK;
  }
  // Ink draws only the last frame when it thinks it runs in CI (CI=true at import time); a
  // workbench in a real terminal must draw live, so the variable is cleared before Ink loads.
  if (process.stdin.isTTY && process.stdout.isTTY) for (const key of ['CI', 'CONTINUOUS_INTEGRATION']) delete process.env[key];
  type Start = (opts: { debug: boolean }) => Promise<number | void>;
  const mod = (await import(entry.href)) as { main?: Start; default?: Start };
  const start = mod.main ?? mod.default;
  const code = typeof start === 'function' ? await start({ debug: flags.debug }) : undefined;
  return typeof code === 'number' ? code : EXIT_OK;
}

async function runCommand(name: string, argv: string[], flags: GlobalFlags): Promise<number> {
  const def = await loadCommand(name);
  if (!def) throw new UserError(`unknown command "${name}"`);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`usage: ${def.usage}\n\n${def.summary}\n`);
    return EXIT_OK;
  }
  try {
    const columns = process.stdout.isTTY ? process.stdout.columns : undefined;
    return await def.run({ cwd: process.cwd(), argv, json: flags.json, out: (line) => process.stdout.write(`${line}\n`), columns });
  } catch (err) {
    await printError(err, flags);
    return err instanceof UserError ? EXIT_USAGE : EXIT_TOOL_ERROR;
  }
}

async function runToolStep(name: string, argv: string[], given: GlobalFlags): Promise<number> {
  const [{ runTool }, { createRenderer }] = await Promise.all([import('./engine/run-tool.js'), import('./core/render-text.js')]);
  const config = await userConfig();
  // `smox config set json true` makes --json the default.
  const flags = { ...given, json: given.json || config.json === true };
  const renderer = createRenderer({
    out: process.stdout,
    err: process.stderr,
    json: flags.json,
    color: useColor(),
    tty: Boolean(process.stderr.isTTY),
    debug: flags.debug,
    columns: process.stderr.columns,
  });
  const controller = new AbortController();
  let interrupted: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    // The first signal asks the tool to stop at a clean point; the second one leaves at once.
    if (interrupted) process.exit(sig === 'SIGTERM' ? EXIT_SIGTERM : EXIT_SIGINT);
    interrupted = sig;
    if (!flags.json) process.stderr.write('\nstopping… (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A tool waiting only on its signal leaves nothing in the event loop, and Node would exit
  // (code 13, unsettled top-level await) instead of waiting for the Ctrl-C.
  const keepAlive = setInterval(() => {}, 1 << 30);
  try {
    const outcome = await runTool(name, argv, {
      cwd: process.cwd(),
      sink: (e) => renderer.event(e),
      signal: controller.signal,
      json: flags.json,
      config,
    });
    renderer.finish();
    if (outcome.ok) return EXIT_OK;
    if (outcome.failure === 'usage') return EXIT_USAGE;
    if (outcome.failure === 'cancelled' || interrupted) return interrupted === 'SIGTERM' ? EXIT_SIGTERM : EXIT_SIGINT;
    return EXIT_TOOL_ERROR;
  } finally {
    clearInterval(keepAlive);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** User preferences for ctx.config; none when src/core/config.ts cannot give them. */
async function userConfig(): Promise<Record<string, unknown>> {
  try {
    // Imported by a computed specifier while src/core/config.ts is being written.
    const specifier = './core/config.js';
    const mod = (await import(specifier)) as { readConfig?: () => Record<string, unknown> | Promise<Record<string, unknown>> };
    return typeof mod.readConfig === 'function' ? await mod.readConfig() : {};
  } catch {
    return {};
  }
}

export async function main(argv: string[]): Promise<number> {
  const { rest, flags } = splitGlobalFlags(argv);
  const [first, ...tail] = rest;
  try {
    if (first === undefined) {
      if (flags.json) throw new UserError('--json needs a tool or a command, e.g. smox infer/sampler --json');
      return await openWorkbench(flags);
    }
    if (first === '--help' || first === '-h' || first === 'help') {
      process.stdout.write(`${await mainHelpText()}\n`);
      return EXIT_OK;
    }
    if (first === '--version' || first === '-V') {
      process.stdout.write(`smolbox ${version()}\n`);
      return EXIT_OK;
    }
    if (first.startsWith('-')) throw new UserError(`unknown option ${first}; see smox --help`);
    if (commandNames().includes(first)) return await runCommand(first, tail, flags);
    return await runToolStep(first, tail, flags);
  } catch (err) {
    await printError(err, flags);
    return err instanceof UserError ? EXIT_USAGE : EXIT_TOOL_ERROR;
  }
}

// A reader that stops early (`smox history | head -1`) closes the pipe, and the next write
// fails with EPIPE: leave quietly, as a program killed by SIGPIPE does, not with a stack.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(EXIT_OK);
  });
}

process.exitCode = await main(process.argv.slice(2));
