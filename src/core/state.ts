/**
 * `.smolbox/state.json`, in the Python smolbox's format: the four path keys plus
 * `created_at`/`updated_at`, pretty-printed with sorted keys. Readers need no lock because
 * every write is a temp file renamed over the old one; writers take `.smolbox/state.lock` so
 * two processes never lose each other's update. Keys we do not know (written by the Python
 * smolbox or a later version) are carried through every rewrite.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { HISTORY_FILE, lastCommitted } from './journal.js';
import { withLock } from './lock.js';
import { STATE_KEYS, type StateKey, UserError } from './tool.js';

/** The state that chains tools: what the next tool reads and where it writes. */
export interface SmolboxState {
  /** The current input model (directory, hub id or builtin:name). */
  model_path: string | null;
  /** Where the next tool writes its model; null means "a fresh .smolbox/<uuid>". */
  output_model_path: string | null;
  /** The current input dataset. */
  dataset_path: string | null;
  /** Where the next tool writes its dataset. */
  output_dataset_path: string | null;
  /** ISO-8601 time the state was created (`init`). */
  created_at: string;
  /** ISO-8601 time of the last write. */
  updated_at: string;
  /**
   * The id of the history record that made this state (see journal.ts): when the history's last
   * committed record has another id, a crash came between the two writes and the record wins.
   */
  history_id?: string;
}

export const STATE_FILE = 'state.json';
export const LOCK_FILE = 'state.lock';

/** `<cwd>/.smolbox`. */
export function stateDir(cwd: string): string {
  return path.join(cwd, '.smolbox');
}

export function statePath(cwd: string): string {
  return path.join(stateDir(cwd), STATE_FILE);
}

/** The one lock guarding state.json and state_history.jsonl. */
export function lockPath(cwd: string): string {
  return path.join(stateDir(cwd), LOCK_FILE);
}

/** A state with nothing set, as `init` makes it. */
export function freshState(now = new Date()): SmolboxState {
  const time = now.toISOString();
  return { model_path: null, output_model_path: null, dataset_path: null, output_dataset_path: null, created_at: time, updated_at: time };
}

/** Python's json.dump(indent=2, sort_keys=True) sorts keys at every depth. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** The text of state.json for a state: two-space indent, sorted keys, a final newline. */
export function formatState(state: SmolboxState): string {
  return `${JSON.stringify(sortKeys(state), null, 2)}\n`;
}

/** Checks the parsed file and fills missing path keys with null; other keys are kept. */
function normalise(raw: unknown, file: string): SmolboxState {
  const fix = `fix it or run \`smox init\` to start over`;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${file} is not a JSON object; ${fix}`);
  const state = { ...(raw as Record<string, unknown>) };
  for (const key of STATE_KEYS) {
    const v = state[key];
    if (v === undefined) state[key] = null;
    else if (v !== null && typeof v !== 'string') throw new UserError(`${file}: ${key} must be a string or null (got ${JSON.stringify(v)}); ${fix}`);
  }
  const now = new Date().toISOString();
  if (typeof state.created_at !== 'string') state.created_at = now;
  if (typeof state.updated_at !== 'string') state.updated_at = state.created_at;
  return state as unknown as SmolboxState;
}

/**
 * The state in `<cwd>/.smolbox/state.json`, caught up with the history's last committed step
 * when a crash came between writing that step's record and the state (journal.ts); null when
 * there is neither.
 */
export function readState(cwd: string): SmolboxState | null {
  return readStateRecovering(cwd).state;
}

/** readState, saying whether the history's last commit was newer than state.json. */
function readStateRecovering(cwd: string): { state: SmolboxState | null; recovered: boolean } {
  const state = readStateFile(cwd);
  const commit = lastCommitted(path.join(stateDir(cwd), HISTORY_FILE));
  if (!commit || commit.id === state?.history_id) return { state, recovered: false };
  return { state: normalise(commit.state_after, statePath(cwd)), recovered: true };
}

function readStateFile(cwd: string): SmolboxState | null {
  const file = statePath(cwd);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${file} is not valid JSON (${(err as Error).message}); fix it or run \`smox init\` to start over`);
  }
  return normalise(raw, file);
}

/**
 * Runs under the lock once the new state is known and before it is written; returns the state to
 * write. history.ts appends the step's record here (the commit point) and stamps its id.
 */
export type BeforeWrite = (before: SmolboxState, after: SmolboxState) => SmolboxState;

/** Writes state.json atomically: a reader sees the old file or the new one, never half. */
function writeState(cwd: string, state: SmolboxState): void {
  writeFileAtomic(statePath(cwd), formatState(state));
}

/** Runs `fn` under the state lock, creating `.smolbox/` first. */
export async function withStateLock<T>(cwd: string, fn: () => Promise<T> | T): Promise<T> {
  fs.mkdirSync(stateDir(cwd), { recursive: true });
  return withLock(lockPath(cwd), fn);
}

/** The state, creating `.smolbox/` and a fresh state.json when missing (as the Python one does). */
export async function loadOrCreateState(cwd: string): Promise<SmolboxState> {
  const existing = readState(cwd);
  if (existing) return existing;
  return withStateLock(cwd, () => {
    const again = readState(cwd);
    if (again) return again;
    const state = freshState();
    writeState(cwd, state);
    return state;
  });
}

/**
 * Read-modify-write under the lock: reads the state (a fresh one when missing), applies
 * `change` to a copy, stamps `updated_at` and writes it atomically.
 */
export async function updateState(
  cwd: string,
  change: (s: SmolboxState) => SmolboxState,
): Promise<{ before: SmolboxState; after: SmolboxState }> {
  return withStateLock(cwd, () => changeStateLocked(cwd, change));
}

/** updateState's read-modify-write, for callers that already hold the lock. */
export function changeStateLocked(
  cwd: string,
  change: (s: SmolboxState) => SmolboxState,
  beforeWrite?: BeforeWrite,
  warn?: (message: string) => void,
): { before: SmolboxState; after: SmolboxState } {
  const { state, recovered } = readStateRecovering(cwd);
  if (recovered) warn?.(`${statePath(cwd)} was one step behind its history (a step was interrupted while recording it); caught up with it`);
  const before = state ?? freshState();
  const changed = { ...change({ ...before }), updated_at: new Date().toISOString() };
  const after = beforeWrite ? beforeWrite(before, changed) : changed;
  writeState(cwd, after);
  return { before, after };
}

/**
 * After a successful tool: the outputs become the next inputs, and the next outputs are
 * fresh again. An unset output leaves its input as it was.
 */
export function nextState(s: SmolboxState): SmolboxState {
  return {
    ...s,
    model_path: s.output_model_path ?? s.model_path,
    output_model_path: null,
    dataset_path: s.output_dataset_path ?? s.dataset_path,
    output_dataset_path: null,
  };
}

/** Removes everything in `.smolbox/` but the lock file we hold. */
function clearDir(cwd: string): void {
  for (const entry of fs.readdirSync(stateDir(cwd))) {
    if (entry !== LOCK_FILE) fs.rmSync(path.join(stateDir(cwd), entry), { recursive: true, force: true });
  }
}

/**
 * `smox init`: clears `.smolbox/` (outputs, history, state) and writes a fresh state, as the
 * Python smolbox does. `beforeWrite` runs under the same lock before the state is written, so
 * the caller can commit the first history record (history.ts) before any other process sees it.
 */
export async function initState(cwd: string, beforeWrite?: (state: SmolboxState) => SmolboxState): Promise<SmolboxState> {
  return withStateLock(cwd, () => {
    clearDir(cwd);
    const fresh = freshState();
    const state = beforeWrite ? beforeWrite(fresh) : fresh;
    writeState(cwd, state);
    return state;
  });
}

/** `smox reset`: removes `.smolbox/` altogether (nothing to do when there is none). */
export async function resetState(cwd: string): Promise<void> {
  if (!fs.existsSync(stateDir(cwd))) return;
  await withStateLock(cwd, () => clearDir(cwd));
  try {
    fs.rmdirSync(stateDir(cwd));
  } catch (err) {
    // Another smox wrote into it after we let go of the lock: what it wrote stays.
    if (!['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
}

/** Checks a key named on the command line (`smox set/get <key>`). */
export function stateKey(name: string): StateKey {
  if ((STATE_KEYS as readonly string[]).includes(name)) return name as StateKey;
  throw new UserError(`unknown state key "${name}"; keys: ${STATE_KEYS.join(', ')}`);
}
