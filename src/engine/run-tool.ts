/**
 * Runs one tool step, the same way for the one-shot CLI and the workbench's worker:
 *
 *   prepare: load the tool → parse argv → read the state → a resumed run's recorded arguments
 *            (resume-args.ts) → resolve <AUTO> paths → draw seeds
 *            → make the output directories. Any failure here is a usage error: nothing ran,
 *            the state is untouched and no history line is written.
 *   run:     the tool's run() with a ToolContext, events going to the sink.
 *   record:  success → output hashes, then one commit under the lock: the history record
 *            (fsynced) and the state changes + next_state it names; failure or cancel → one history record, the state as it was, and a fresh
 *            output directory left empty by the tool removed again.
 */
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { recoverDir } from '../core/atomic-write.js';
import { osErrorWithPath } from '../core/os-error.js';
import { emitterFor, type ToolEvent, type ToolResult } from '../core/events.js';
import { toolHelp } from '../core/help.js';
import { hashDirectory } from '../core/content-hash.js';
import { appendHistory, commitStep, type HistoryRecord } from '../core/history.js';
import { parseArgs } from '../core/parse-args.js';
import { type LoadedTool, loadTool } from '../core/registry.js';
import { resolvePathArgs } from '../core/resolve.js';
import { nextState, readState, type SmolboxState } from '../core/state.js';
import { type StateKey, type ToolContext, UserError } from '../core/tool.js';
import { checkReplaceable } from '../models/owned-dir.js';
import { type PendingStep, removeEmptyDirs } from './abandoned-step.js';
import { withResumedArgs } from './resume-args.js';
import { lockOutput } from '../core/output-lock.js';

export interface RunToolOptions {
  /** The directory holding (or to hold) `.smolbox/`. */
  cwd: string;
  /** Receives every event: the tool's own, then one `result` or `error`. */
  sink: (event: ToolEvent) => void;
  /** Aborting it cancels the tool (Ctrl-C, SIGTERM, the workbench's cancel). */
  signal?: AbortSignal;
  /** Output goes to a machine (--json). */
  json?: boolean;
  /** Engine services handed to the tool as `ctx.engine` (the workbench's model cache). */
  engine?: unknown;
  /** User preferences handed to the tool as `ctx.config`. */
  config?: Readonly<Record<string, unknown>>;
  /** Environment for finding user tools (SMOLBOX_TOOLS_PATH); process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Told when the tool starts, with what recording it needs should its engine be killed (abandoned-step.ts). */
  onStart?: (pending: PendingStep) => void;
  /** Told of the history record the step wrote (the workbench shows its duration). */
  onRecorded?: (record: HistoryRecord) => void;
}

export interface RunToolOutcome {
  ok: boolean;
  result?: ToolResult;
  /** The one-line message shown for a failure. */
  error?: string;
  /**
   * Why it failed: `usage` before the tool ran (bad flag, unknown tool, unset path — nothing
   * recorded), `run` inside the tool, `cancelled` when the signal was aborted.
   */
  failure?: 'usage' | 'run' | 'cancelled';
  /** `--help` was asked for: result.message holds the usage text and nothing ran. */
  help?: boolean;
}

/** Everything the run needs, decided before the tool starts. */
interface Prepared {
  tool: LoadedTool;
  action: string;
  values: Record<string, unknown>;
  state: SmolboxState;
  stateChanges: Partial<SmolboxState>;
  /** Output directories this step created, to remove again if the tool leaves them empty. */
  created: string[];
  /** Releases the step's output locks (core/output-lock.ts). */
  unlock: () => void;
}

/** Config keys that are user defaults for tool arguments of the same name. */
const CONFIG_ARG_DEFAULTS = ['temperature', 'top_k', 'top_p'];

/** A state for a directory smox has not touched yet; written only if the tool succeeds. */
function blankState(): SmolboxState {
  const now = new Date().toISOString();
  return { model_path: null, output_model_path: null, dataset_path: null, output_dataset_path: null, created_at: now, updated_at: now };
}

/** The output-path arguments of a tool (`resolves.direction === 'out'`) with their values. */
function outputDirs(tool: LoadedTool, values: Record<string, unknown>, cwd: string): [string, string][] {
  return Object.entries(tool.def.args)
    .filter(([name, spec]) => spec.resolves?.direction === 'out' && typeof values[name] === 'string' && values[name] !== '')
    .map(([name]) => [name, path.resolve(cwd, values[name] as string)]);
}

async function prepare(name: string, argv: readonly string[], opts: RunToolOptions): Promise<Prepared | { help: string }> {
  const tool = await loadTool(name, opts.env);
  const parsed = parseArgs(tool.def, argv);
  if (parsed.help) return { help: toolHelp(tool.name, tool.def) };
  for (const key of CONFIG_ARG_DEFAULTS) {
    // `smox config set temperature 0.8` replaces the schema's default, never a given flag.
    const preferred = opts.config?.[key];
    if (key in tool.def.args && !parsed.given.includes(key) && typeof preferred === 'number') parsed.values[key] = preferred;
  }
  const state = readState(opts.cwd) ?? blankState();
  const wanted = withResumedArgs(tool.name, tool.def.args, parsed.values, parsed.given, state, opts.cwd);
  const { values, stateChanges } = resolvePathArgs(tool.def.args, wanted, state, opts.cwd);
  for (const [argName, spec] of Object.entries(tool.def.args)) {
    // Drawn here, not in the tool, so the history records the seed that made the output.
    if (spec.seed && (values[argName] === null || values[argName] === undefined)) values[argName] = randomInt(0, 2 ** 32);
  }
  const created: string[] = [];
  const locks: (() => void)[] = [];
  const unlock = () => locks.splice(0).forEach((release) => release());
  try {
    for (const [argName, dir] of outputDirs(tool, values, opts.cwd)) {
      // One writer per output, from before it is first touched until the step is recorded.
      locks.push(lockOutput(dir, tool.name, `--${argName}`));
      // A kill between an earlier swap's renames left the output aside: put it back before
      // anything below takes its absence for a fresh output.
      recoverDir(dir);
      // A model output replaces what is there: refuse a directory smolbox does not own now,
      // not after minutes of work (writeCheckpoint checks again when it writes).
      if (tool.def.args[argName].resolves?.key === 'output_model_path') checkReplaceable(dir, `--${argName}`);
      if (!fs.existsSync(dir)) {
        fs.mkdirSync(dir, { recursive: true });
        created.push(dir);
      }
    }
  } catch (err) {
    unlock();
    throw err;
  }
  return { tool, action: parsed.action, values, state, stateChanges, created, unlock };
}

/** The state values a tool's result settles its adopting inputs on; other keys are ignored. */
function adoptedValues(tool: LoadedTool, adopt: ToolResult['adopt']): Partial<SmolboxState> {
  const adopting = new Set(Object.values(tool.def.args).filter((spec) => spec.resolves?.adopt).map((spec) => spec.resolves!.key));
  return Object.fromEntries(Object.entries(adopt ?? {}).filter(([key, v]) => adopting.has(key as StateKey) && typeof v === 'string'));
}

/**
 * A UserError's message is shown as is; any other error is prefixed with the tool's name.
 * User tools cannot import our UserError class, so an Error named "UserError" counts too.
 */
function describeFailure(err: unknown, toolName: string): { message: string; detail?: string } {
  err = osErrorWithPath(err);
  if (err instanceof UserError || (err instanceof Error && err.name === 'UserError')) return { message: err.message, detail: err.stack };
  if (err instanceof Error) return { message: `${toolName}: ${err.message.split('\n')[0]}`, detail: err.stack };
  return { message: `${toolName}: ${String(err)}` };
}

/** Runs `smox <name> <argv…>`: see the file comment for the three phases. */
export async function runTool(name: string, argv: readonly string[], opts: RunToolOptions): Promise<RunToolOutcome> {
  const signal = opts.signal ?? new AbortController().signal;
  let prep: Prepared;
  try {
    const p = await prepare(name, argv, opts);
    if ('help' in p) {
      const result = { message: p.help };
      opts.sink({ type: 'result', result });
      return { ok: true, help: true, result };
    }
    prep = p;
  } catch (err) {
    const { message, detail } = describeFailure(err, name);
    opts.sink({ type: 'error', message, detail });
    return { ok: false, error: message, failure: 'usage' };
  }

  try {
    return await runPrepared(prep, opts, signal);
  } finally {
    prep.unlock();
  }
}

/** The run and record phases, with the output locks held. */
async function runPrepared(prep: Prepared, opts: RunToolOptions, signal: AbortSignal): Promise<RunToolOutcome> {
  const { tool, action, values, state } = prep;
  const started = Date.now();
  const ctx: ToolContext = {
    cwd: opts.cwd,
    emit: emitterFor(opts.sink),
    signal,
    action,
    config: opts.config ?? {},
    json: opts.json ?? false,
    engine: opts.engine,
  };
  const warn = (message: string) => ctx.emit.log(message, 'warn');
  const base = { time: new Date(started).toISOString(), kind: 'tool' as const, name: tool.name, ...(action !== 'run' ? { action } : {}), args: values };
  const cancelledRecord: HistoryRecord = { ...base, status: 'cancelled', duration_ms: 0, state_before: state, state_after: state, error: `${tool.name}: cancelled` };
  opts.onStart?.({ cwd: opts.cwd, record: cancelledRecord, created: prep.created });

  try {
    if (signal.aborted) throw new UserError(`${tool.name}: cancelled`);
    const { adopt, ...result } = (await tool.def.run(ctx, values as never)) ?? {};
    if (signal.aborted) throw new UserError(`${tool.name}: cancelled`);
    // Hashed before taking the lock: gigabytes of weights must not hold up other smox processes.
    const outputs: Record<string, string> = {};
    for (const [argName, dir] of outputDirs(tool, values, opts.cwd)) {
      if (fs.existsSync(dir)) outputs[argName] = hashDirectory(dir);
    }
    // Record and state change as one commit (history first: see core/journal.ts).
    const stateChanges = { ...prep.stateChanges, ...adoptedValues(tool, adopt) };
    const record = await commitStep(opts.cwd, (s) => nextState({ ...s, ...stateChanges }), () => ({
      ...base,
      status: 'ok',
      duration_ms: Date.now() - started,
      ...(Object.keys(outputs).length ? { outputs } : {}),
      ...(result.metrics ? { metrics: result.metrics } : {}),
    }), warn);
    opts.onRecorded?.(record);
    opts.sink({ type: 'result', result });
    return { ok: true, result };
  } catch (err) {
    const cancelled = signal.aborted;
    const { message, detail } = cancelled ? { message: `${tool.name}: cancelled`, detail: undefined } : describeFailure(err, tool.name);
    removeEmptyDirs(prep.created);
    const record: HistoryRecord = { ...cancelledRecord, status: cancelled ? 'cancelled' : 'error', duration_ms: Date.now() - started, error: message };
    try {
      await appendHistory(opts.cwd, record, warn);
      opts.onRecorded?.(record);
    } catch {
      // The tool's own error is the one worth showing; a history that cannot be written
      // (a read-only directory) must not replace it.
    }
    opts.sink({ type: 'error', message, detail });
    return { ok: false, error: message, failure: cancelled ? 'cancelled' : 'run' };
  }
}
