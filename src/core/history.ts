/**
 * `.smolbox/state_history.jsonl`: one JSON record per step, tools and state-changing commands
 * alike, appended under the state lock. The Python smolbox appends bare state snapshots to
 * the same file; readHistory turns those into records too, so `smox history` in a directory
 * it made shows them instead of failing.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { appendLine, HISTORY_FILE } from './journal.js';
import { changeStateLocked, initState, type SmolboxState, stateDir, withStateLock } from './state.js';
import { STATE_KEYS } from './tool.js';

/** One step as recorded: enough to show it, to audit it and to replay it. */
export interface HistoryRecord {
  /**
   * Set on a step that changed the state (a committed step): state_after carries it as
   * `history_id`, written to state.json after this record (journal.ts explains why).
   */
  id?: string;
  /** ISO-8601 time the step started. */
  time: string;
  kind: 'tool' | 'command';
  /** Tool name (`transform/pruner`) or command name (`set`). */
  name: string;
  /** A tool's sub-action when it is not `run` (e.g. tweaker's `list`). */
  action?: string;
  /** Fully resolved arguments: AUTORESOLVE replaced, drawn seeds filled in. */
  args: Record<string, unknown>;
  status: 'ok' | 'error' | 'cancelled';
  duration_ms: number;
  state_before: SmolboxState | null;
  state_after: SmolboxState | null;
  /** Output argument name → sha256 hex of the output directory's content (content-hash.ts). */
  outputs?: Record<string, string>;
  metrics?: Record<string, number>;
  /** The one-line message of a failed step. */
  error?: string;
}

/** The name given to state snapshots the Python smolbox wrote into the history. */
export const PYTHON_SNAPSHOT = 'python-state';

export { HISTORY_FILE };

export function historyPath(cwd: string): string {
  return path.join(stateDir(cwd), HISTORY_FILE);
}

/** Where a repaired history says so when the caller gives no better place. */
const toStderr = (message: string) => process.stderr.write(`smox: warning: ${message}\n`);

/** Appends one record as one fsynced line without taking the lock: for callers that already hold it. */
export function appendHistoryLocked(cwd: string, record: HistoryRecord, warn: (message: string) => void = toStderr): void {
  appendLine(historyPath(cwd), JSON.stringify(record), warn);
}

/** Appends one record that changes no state (a failed step), under the state lock. */
export async function appendHistory(cwd: string, record: HistoryRecord, warn?: (message: string) => void): Promise<void> {
  await withStateLock(cwd, () => appendHistoryLocked(cwd, record, warn));
}

/** A step's record less what the commit fills in. */
export type StepRecord = Omit<HistoryRecord, 'id' | 'state_before' | 'state_after'>;

/**
 * The commit of a state-changing step, for callers holding the lock (journal.ts has the
 * protocol): the record, with a fresh id and the exact state it leads to, is appended and
 * fsynced before state.json is written with that id, so no crash leaves a state change that
 * the history (and so export-script) lacks.
 */
export function commitStepLocked(
  cwd: string,
  change: (s: SmolboxState) => SmolboxState,
  step: (before: SmolboxState) => StepRecord,
  warn: (message: string) => void = toStderr,
): HistoryRecord {
  let record: HistoryRecord | undefined;
  changeStateLocked(cwd, change, (before, changed) => {
    const stamped = stamp(step(before), before, changed);
    record = stamped.record;
    appendHistoryLocked(cwd, record, warn);
    return stamped.after;
  }, warn);
  return record!;
}

/** A step made committed: one fresh id, in its record and in the state it leads to. */
function stamp(step: StepRecord, before: SmolboxState | null, changed: SmolboxState): { record: HistoryRecord; after: SmolboxState } {
  const id = randomUUID();
  const after = { ...changed, history_id: id };
  return { record: { ...step, id, state_before: before, state_after: after }, after };
}

/** `smox init` as a committed step: `.smolbox/` cleared, then its record, then the fresh state. */
export async function recordInit(cwd: string, step: StepRecord, before: SmolboxState | null, warn?: (message: string) => void): Promise<SmolboxState> {
  return initState(cwd, (fresh) => {
    const { record, after } = stamp(step, before, fresh);
    appendHistoryLocked(cwd, record, warn);
    return after;
  });
}

/** commitStepLocked under the state lock. */
export async function commitStep(
  cwd: string,
  change: (s: SmolboxState) => SmolboxState,
  step: (before: SmolboxState) => StepRecord,
  warn?: (message: string) => void,
): Promise<HistoryRecord> {
  return withStateLock(cwd, () => commitStepLocked(cwd, change, step, warn));
}

/** A state-changing command as one committed step: its change and its record, under one lock. */
export async function recordCommand(
  cwd: string,
  name: string,
  args: Record<string, unknown>,
  change: (s: SmolboxState) => SmolboxState,
): Promise<HistoryRecord> {
  const started = Date.now();
  return commitStep(cwd, change, () => ({
    time: new Date(started).toISOString(), kind: 'command', name, args, status: 'ok', duration_ms: Date.now() - started,
  }));
}

function isRecord(v: Record<string, unknown>): v is Record<string, unknown> & HistoryRecord {
  return (
    (v.kind === 'tool' || v.kind === 'command') &&
    typeof v.name === 'string' &&
    typeof v.status === 'string' &&
    !!v.args &&
    typeof v.args === 'object'
  );
}

/** A line holding only state keys is a snapshot the Python smolbox appended. */
function fromPythonSnapshot(v: Record<string, unknown>): HistoryRecord | null {
  if (!STATE_KEYS.some((k) => k in v)) return null;
  const state = v as unknown as SmolboxState;
  const time = typeof v.updated_at === 'string' ? v.updated_at : typeof v.created_at === 'string' ? v.created_at : '';
  return { time, kind: 'command', name: PYTHON_SNAPSHOT, args: {}, status: 'ok', duration_ms: 0, state_before: null, state_after: state };
}

/** Every record in the history, oldest first; lines that are neither ours nor Python's are skipped. */
export function readHistory(cwd: string): HistoryRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(historyPath(cwd), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const records: HistoryRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      continue; // a line cut short by a crash mid-write
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) continue;
    const obj = v as Record<string, unknown>;
    if (isRecord(obj)) records.push(obj);
    else {
      const snap = fromPythonSnapshot(obj);
      if (snap) records.push(snap);
    }
  }
  return records;
}
