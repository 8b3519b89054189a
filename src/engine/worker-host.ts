/**
 * The engine side of the workbench: runs one typed line at a time — an internal command, `help`,
 * or a tool through runTool (the CLI's runner, so state and history are written exactly as
 * `smox <tool>` writes them) — with one Engine kept for the whole session, so a model loaded by
 * one step is still in memory for the next. The worker thread (worker.ts) wraps it in
 * messages; tests and the overhead bench can also drive it on the calling thread.
 */
import fs from 'node:fs';
import { readConfig } from '../core/config.js';
import { mainHelp } from '../core/help.js';
import { commandNames, listCommands, loadAllTools, loadCommand } from '../core/registry.js';
import { UserError } from '../core/tool.js';
import { listBuiltins } from '../models/source.js';
import type { PendingStep } from './abandoned-step.js';
import { runTool } from './run-tool.js';
import type { EngineInfo, ModelSummary, StepOutcome, WorkbenchEvent } from './worker-protocol.js';

/** What the host needs of src/engine/engine.ts's Engine (structural, so tests can pass a stub). */
export interface EngineLike {
  readonly threads: number;
  summary(): ModelSummary | null;
  parameterNames(): string[];
  release(): Promise<void>;
}

/** What a step may get besides its words. */
export interface StepOptions {
  /** The terminal's width, for tables (`history`). */
  columns?: number;
  /** Told when a tool starts (runTool's onStart). */
  onStart?: (pending: PendingStep) => void;
}

export interface StepHostOptions {
  engine: EngineLike;
  /** Environment for user tools and config (SMOLBOX_TOOLS_PATH, SMOLBOX_CONFIG_DIR). */
  env?: NodeJS.ProcessEnv;
}

/** Flags the CLI takes anywhere; in the workbench output is always for people. */
const IGNORED_GLOBAL_FLAGS = ['--json', '--debug'];

function builtinNames(kind: 'models' | 'datasets'): string[] {
  return listBuiltins(kind).map((n) => `builtin:${n.replace(/\.[^.]+$/, '')}`);
}

function packageVersion(): string {
  // dist/src/engine and src/engine sit at different depths below package.json.
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(fs.readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'smolbox' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return 'unknown';
}

export class StepHost {
  readonly engine: EngineLike;
  private readonly env: NodeJS.ProcessEnv;
  private builtins: EngineInfo['builtins'] | null = null;

  constructor(opts: StepHostOptions) {
    this.engine = opts.engine;
    this.env = opts.env ?? process.env;
  }

  info(): EngineInfo {
    this.builtins ??= { models: builtinNames('models'), datasets: builtinNames('datasets') };
    return {
      threads: this.engine.threads,
      model: this.engine.summary(),
      paramNames: this.engine.parameterNames(),
      builtins: this.builtins,
    };
  }

  /** Runs one line's words; every failure arrives as an `error` event and a failed outcome. */
  async step(words: readonly string[], cwd: string, sink: (e: WorkbenchEvent) => void, signal: AbortSignal, opts: StepOptions = {}): Promise<StepOutcome> {
    const [name, ...argv] = words.filter((w) => !IGNORED_GLOBAL_FLAGS.includes(w));
    if (name === undefined) return { ok: true };
    try {
      if (name === 'help' || name === '--help' || name === '-h') {
        if (argv.length === 0) return await this.mainHelp(sink);
        return await this.step([argv[0], '--help'], cwd, sink, signal, opts);
      }
      if (commandNames().includes(name)) return await this.command(name, argv, cwd, sink, opts.columns);
    } catch (err) {
      return fail(err, sink);
    }
    let durationMs: number | undefined;
    const outcome = await runTool(name, argv, {
      cwd, sink, signal, engine: this.engine, config: readConfig(this.env), env: this.env,
      onStart: opts.onStart,
      onRecorded: (record) => (durationMs = record.duration_ms),
    });
    return { ok: outcome.ok, failure: outcome.failure, error: outcome.error, ...(durationMs !== undefined ? { durationMs } : {}) };
  }

  private async mainHelp(sink: (e: WorkbenchEvent) => void): Promise<StepOutcome> {
    const [commands, { tools }] = await Promise.all([listCommands(), loadAllTools(this.env)]);
    const text = mainHelp({
      version: packageVersion(),
      commands: commands.map((c) => ({ name: c.name, summary: c.def.summary, usage: c.def.usage })),
      tools: tools.map((t) => ({ name: t.name, category: t.category, summary: t.def.summary, origin: t.origin })),
    });
    for (const line of text.split('\n')) sink({ type: 'output', line });
    sink({ type: 'output', line: 'In the workbench, type the same lines without "smox"; Tab completes, Ctrl-C cancels.' });
    sink({ type: 'output', line: '`chat [--system TEXT] [sampler flags]` talks with the model through its chat template (chat --help).' });
    return { ok: true };
  }

  private async command(name: string, argv: string[], cwd: string, sink: (e: WorkbenchEvent) => void, columns?: number): Promise<StepOutcome> {
    const def = await loadCommand(name);
    if (!def) throw new UserError(`unknown command "${name}"`);
    if (argv.includes('--help') || argv.includes('-h')) {
      for (const line of [`usage: ${def.usage}`, '', def.summary]) sink({ type: 'output', line });
      return { ok: true };
    }
    const code = await def.run({ cwd, argv, json: false, columns, out: (line) => line.split('\n').forEach((l) => sink({ type: 'output', line: l })) });
    return code === 0 ? { ok: true } : { ok: false, failure: 'run', error: `${name} exited with ${code}` };
  }

  async release(): Promise<void> {
    await this.engine.release();
  }
}

/** A command's exception as the one red line a person sees. */
function fail(err: unknown, sink: (e: WorkbenchEvent) => void): StepOutcome {
  const user = err instanceof UserError || (err instanceof Error && err.name === 'UserError');
  const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
  sink({ type: 'error', message, detail: err instanceof Error ? err.stack : undefined });
  return { ok: false, failure: user ? 'usage' : 'run', error: message };
}
