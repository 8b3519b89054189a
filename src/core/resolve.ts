/**
 * AUTORESOLVE: path arguments left at `<AUTO>` take their value from the state. An input path
 * reads its key (and is an error when the key is unset); an output path takes the state's
 * value or a fresh `.smolbox/<uuid>` (relative to cwd, as the Python smolbox writes it). Every
 * output path, given or fresh, goes into the state changes, so that next_state moves it into
 * the input key once the tool succeeds. Creating the directory is the runner's job: it also
 * removes it again when the tool fails.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { SmolboxState } from './state.js';
import { type ArgsSchema, AUTORESOLVE, type StateKey, UserError } from './tool.js';

/** What an input key accepts, for the "not set" message. */
const ACCEPTS: Partial<Record<StateKey, string>> = {
  model_path: '<dir|hub id|builtin:name>',
  dataset_path: '<file|dir|hub id|builtin:name>',
};

/** A value that means "not given": the sentinel, or nothing at all. */
function unset(v: unknown): boolean {
  return v === AUTORESOLVE || v === undefined || v === null || v === '';
}

/** A fresh output location, `.smolbox/<uuid>`, relative to cwd. */
export function freshOutputPath(): string {
  return path.join('.smolbox', randomUUID());
}

/** Matches a path this module made: `.smolbox/<uuid>` (either separator, optional trailing one). */
export const FRESH_OUTPUT = /^\.smolbox[/\\][0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}[/\\]?$/i;

/**
 * Resolves every argument whose spec has `resolves`. `values` holds the parsed arguments;
 * the result holds them with paths filled in, plus the state keys the step will set. `cwd` is
 * accepted for callers' symmetry; paths stay relative so a state stays portable.
 */
export function resolvePathArgs(
  schema: ArgsSchema,
  values: Record<string, unknown>,
  state: SmolboxState,
  _cwd: string,
): { values: Record<string, unknown>; stateChanges: Partial<SmolboxState> } {
  const out: Record<string, unknown> = { ...values };
  const stateChanges: Partial<SmolboxState> = {};
  for (const [name, spec] of Object.entries(schema)) {
    if (!spec.resolves) continue;
    const { key, direction } = spec.resolves;
    const given = values[name];
    if (direction === 'in') {
      if (!unset(given)) {
        if (spec.resolves.adopt) stateChanges[key] = given as string;
        continue;
      }
      const fromState = state[key];
      if (fromState === null || fromState === undefined || fromState === '') {
        const what = ACCEPTS[key] ?? '<path>';
        throw new UserError(`--${name} is not set: pass --${name} ${what} or run \`smox set ${key} …\``);
      }
      out[name] = fromState;
    } else {
      const target = unset(given) ? (state[key] || freshOutputPath()) : (given as string);
      out[name] = target;
      stateChanges[key] = target;
    }
  }
  return { values: out, stateChanges };
}
