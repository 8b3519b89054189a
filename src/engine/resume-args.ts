/**
 * A flag that resumes (`train/finetuner --resume`) continues an interrupted run with that run's
 * own settings: `--resume --output_model_path X` alone must do, whatever the state or the
 * defaults say today. So before the inputs resolve from the state (where a dataset path given
 * on the first run's command line never was), the arguments the interrupted run recorded in
 * its output directory's smolbox.json fill every argument this command line does not give.
 */
import fs from 'node:fs';
import path from 'node:path';
import { recoverDir } from '../core/atomic-write.js';
import type { SmolboxState } from '../core/state.js';
import { AUTORESOLVE, type ArgsSchema, UserError } from '../core/tool.js';

/** The interrupted run's arguments, as smolbox.json records them for the tool that wrote it. */
function recordedArgs(dir: string, toolName: string): Record<string, unknown> | null {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(path.join(dir, 'smolbox.json'), 'utf8'));
  } catch {
    return null;
  }
  const { tool, args } = (json ?? {}) as { tool?: unknown; args?: unknown };
  if (tool !== toolName || !args || typeof args !== 'object' || Array.isArray(args)) return null;
  return args as Record<string, unknown>;
}

/**
 * `values` with the interrupted run's arguments filled in where `given` has none; unchanged
 * when the tool has no resuming flag or it is off. The run is found in the output directory
 * the command line names, else in the state's; a resume that finds none there is an error
 * that says so, before anything runs.
 */
export function withResumedArgs(
  toolName: string,
  schema: ArgsSchema,
  values: Record<string, unknown>,
  given: readonly string[],
  state: SmolboxState,
  cwd: string,
): Record<string, unknown> {
  const flag = Object.keys(schema).find((name) => schema[name].resumes);
  if (!flag || values[flag] !== true) return values;
  const outName = Object.keys(schema).find((name) => schema[name].resolves?.direction === 'out');
  if (!outName) return values;
  const key = schema[outName].resolves!.key;
  const named = given.includes(outName) && values[outName] !== AUTORESOLVE ? values[outName] : state[key];
  if (typeof named !== 'string' || named === '') {
    throw new UserError(`--${flag}: which run? pass the interrupted run's --${outName}`);
  }
  // A kill between a checkpoint swap's renames left the run aside: put it back before reading it.
  recoverDir(path.resolve(cwd, named));
  const recorded = recordedArgs(path.resolve(cwd, named), toolName);
  if (!recorded) {
    throw new UserError(`--${flag}: ${named} holds no interrupted run of ${toolName} to continue; pass the interrupted run's --${outName}`);
  }
  const out = { ...values, [outName]: named };
  for (const name of Object.keys(schema)) {
    if (name === flag || name === outName || given.includes(name) || !(name in recorded)) continue;
    out[name] = recorded[name];
  }
  return out;
}
