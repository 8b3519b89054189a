/**
 * `.smolbox/state_history.jsonl`: one JSON record per step, tools and state-changing commands
 * alike, appended under the state lock. The Python smolbox appends bare state snapshots to
 * the same file; readHistory turns those into records too, so `smox history` in a directory
 * it made shows them instead of failing.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { changeStateLocked, type SmolboxState, stateDir, withStateLock } from './state.js';
import { STATE_KEYS } from './tool.js';

/** One step as recorded: enough to show it, to audit it and to replay it. */
export interface HistoryRecord {
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
  /** Output argument name → sha256 hex of the output directory's content (hashDirectory). */
  outputs?: Record<string, string>;
  metrics?: Record<string, number>;
  /** The one-line message of a failed step. */
  error?: string;
}

/** The name given to state snapshots the Python smolbox wrote into the history. */
export const PYTHON_SNAPSHOT = 'python-state';

export const HISTORY_FILE = 'state_history.jsonl';

export function historyPath(cwd: string): string {
  return path.join(stateDir(cwd), HISTORY_FILE);
}

/** Appends one line without taking the lock: for callers that already hold it. */
export function appendHistoryLocked(cwd: string, record: HistoryRecord): void {
  // One write of one line: O_APPEND keeps concurrent appends whole even without the lock.
  fs.appendFileSync(historyPath(cwd), `${JSON.stringify(record)}\n`);
}

/** Appends one record as one line, under the state lock. */
export async function appendHistory(cwd: string, record: HistoryRecord): Promise<void> {
  await withStateLock(cwd, () => appendHistoryLocked(cwd, record));
}

/**
 * A state-changing command as one step: under one lock, applies `change` to the state and
 * appends its record, so the history's order is the order the changes happened in.
 */
export async function recordCommand(
  cwd: string,
  name: string,
  args: Record<string, unknown>,
  change: (s: SmolboxState) => SmolboxState,
): Promise<HistoryRecord> {
  const started = Date.now();
  return withStateLock(cwd, () => {
    const { before, after } = changeStateLocked(cwd, change);
    const record: HistoryRecord = {
      time: new Date(started).toISOString(), kind: 'command', name, args, status: 'ok',
      duration_ms: Date.now() - started, state_before: before, state_after: after,
    };
    appendHistoryLocked(cwd, record);
    return record;
  });
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

const CHUNK = 1 << 20;

/** Every file and directory under `dir`, as sorted '/'-separated relative paths. */
function walk(dir: string, rel = ''): { rel: string; full: string; isDir: boolean }[] {
  const out: { rel: string; full: string; isDir: boolean }[] = [];
  for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const full = path.join(dir, r);
    // stat, not lstat: a model directory may link to blobs in the hub cache.
    const isDir = fs.statSync(full).isDirectory();
    out.push({ rel: r, full, isDir });
    if (isDir) out.push(...walk(dir, r));
  }
  return out;
}

/**
 * sha256 over a directory's content: every relative path (sorted, '/'-separated) with its
 * size and bytes, read in chunks so multi-gigabyte weights do not need to fit in memory.
 * Names and contents matter, times and permissions do not — two runs that write the same
 * files hash the same. A plain file hashes as a directory holding just it.
 */
export function hashDirectory(dir: string): string {
  const hash = createHash('sha256');
  const entries = fs.statSync(dir).isDirectory()
    ? walk(dir)
    : [{ rel: path.basename(dir), full: dir, isDir: false }];
  const buf = Buffer.allocUnsafe(CHUNK);
  for (const e of entries) {
    if (e.isDir) {
      hash.update(`d ${e.rel}\0`);
      continue;
    }
    const size = fs.statSync(e.full).size;
    hash.update(`f ${e.rel}\0${size}\0`);
    const fd = fs.openSync(e.full, 'r');
    try {
      let n: number;
      while ((n = fs.readSync(fd, buf, 0, CHUNK, null)) > 0) hash.update(buf.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
  }
  return hash.digest('hex');
}
