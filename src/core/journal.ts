/**
 * The history file at the byte level: durable appends that first mend a torn last line, and
 * finding the last committed step from the end. Kept apart from history.ts so that state.ts
 * can read the last commit (to catch up after a crash) without importing history.ts.
 *
 * The commit protocol (history.ts `commitStepLocked`, under the state lock): a step's record,
 * carrying a fresh `id` and the exact state it leads to, is appended and fsynced first; then
 * state.json is written with `history_id` = that id. A crash before the fsync leaves neither;
 * a crash after it leaves a record state.json has not caught up with, which `lastCommitted`
 * finds (its id is not the state's history_id) and readState rolls forward to.
 */
import fs from 'node:fs';
import { osError } from './os-error.js';
import { writeAll } from './atomic-write.js';

export const HISTORY_FILE = 'state_history.jsonl';

/** A committed step as the end of the history names it. */
export interface Commit {
  id: string;
  state_after: Record<string, unknown>;
}

const NL = 0x0a;
const CHUNK = 64 * 1024;

/** The file's bytes from `start` to its end. */
function readFrom(fd: number, start: number, size: number): Buffer {
  const buf = Buffer.alloc(size - start);
  let done = 0;
  while (done < buf.length) done += fs.readSync(fd, buf, done, buf.length - done, start + done);
  return buf;
}

/** Offset just past the last newline before `end` (0 when there is none). */
function lineStart(fd: number, end: number): number {
  const buf = Buffer.alloc(CHUNK);
  for (let pos = end; pos > 0;) {
    const from = Math.max(0, pos - CHUNK);
    const n = fs.readSync(fd, buf, 0, pos - from, from);
    const i = buf.subarray(0, n).lastIndexOf(NL);
    if (i >= 0) return from + i + 1;
    pos = from;
  }
  return 0;
}

/**
 * Appends `line` (no newline of its own) as one line and fsyncs it. A last line without its
 * newline (a write cut short by a crash or a full disk) is ended first, so it can never swallow
 * this record; `warn` hears about it. The torn bytes stay, as a line readers skip.
 */
export function appendLine(file: string, line: string, warn: (message: string) => void): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'a+');
    const size = fs.fstatSync(fd).size;
    let prefix = '';
    if (size > 0 && readFrom(fd, size - 1, size)[0] !== NL) {
      const torn = readFrom(fd, lineStart(fd, size), size).toString('utf8');
      prefix = '\n';
      if (!parses(torn)) warn(`${file}: its last line was cut short by an interrupted write (${Buffer.byteLength(torn)} bytes, kept as a line that is skipped); the new record starts on its own line`);
    }
    // One write of the whole line: O_APPEND keeps it in one piece beside concurrent appends.
    writeAll(fd, Buffer.from(`${prefix}${line}\n`, 'utf8'));
    fs.fsyncSync(fd);
  } catch (e) {
    throw osError(e, file);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The last committed step in the history (the last whole line with an `id`), read from the end. */
export function lastCommitted(file: string): Commit | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    let end = fs.fstatSync(fd).size;
    while (end > 0) {
      const start = lineStart(fd, Math.max(0, end - 1)); // the line ending at `end`, its own newline excluded
      const text = readFrom(fd, start, end).toString('utf8');
      end = start;
      // Only a line that ends in a newline was written whole.
      if (!text.endsWith('\n') || !text.includes('"id"')) continue;
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch {
        continue;
      }
      const r = v as Partial<Commit> | null;
      if (r && typeof r.id === 'string' && r.state_after && typeof r.state_after === 'object') return { id: r.id, state_after: r.state_after };
    }
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}
