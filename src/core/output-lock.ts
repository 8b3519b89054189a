/**
 * One writer per output. A step holds a lock beside each directory it writes
 * (`<parent>/.<name>.lock`) from before it first touches the directory until its commit, so a
 * second finetuner (or any tool) aimed at the same path stops at once with one line naming the
 * path and the holder, instead of mixing its weights or optimizer state into the first one's.
 * Unlike the state lock it never waits (steps run for hours) and is never broken by age: only
 * a holder that is gone (its pid dead on this host) or a lock nobody wrote frees it.
 */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { breakLock, isStale, type LockInfo, pidAlive, readInfo, release, tryAcquire } from './lock.js';
import { UserError } from './tool.js';

/** The lock file for output directory `dir`. */
export function outputLockPath(dir: string): string {
  return path.join(path.dirname(dir), `.${path.basename(dir)}.lock`);
}

/**
 * Takes the lock on output `dir` for `what` (the tool's name) and returns its release, or throws
 * a UserError naming the holder. `flag` is the argument the user can change.
 */
export function lockOutput(dir: string, what: string, flag: string): () => void {
  const lockPath = outputLockPath(dir);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const info: LockInfo = { pid: process.pid, host: os.hostname(), time: new Date().toISOString(), token: randomBytes(8).toString('hex'), what };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryAcquire(lockPath, info)) return () => release(lockPath, info.token);
    const holder = readInfo(lockPath);
    if (isStale(lockPath, holder, Date.now(), Infinity)) {
      breakLock(lockPath, Infinity);
      continue;
    }
    throw new UserError(`${dir} is being written by ${describe(holder)}; wait for it to finish, or pass another ${flag}`);
  }
  throw new UserError(`cannot lock ${dir}: ${lockPath} keeps changing; is another smox starting on it?`);
}

function describe(holder: LockInfo | null): string {
  if (!holder) return 'another smox that is just starting';
  const who = holder.host === os.hostname() ? `pid ${holder.pid}` : `pid ${holder.pid} on ${holder.host}`;
  return `${holder.what ?? 'a smox step'} (${who}, since ${holder.time})`;
}

/**
 * Steps still running on outputs in `dir` (`.smolbox/`), as one line each, so that `smox init`
 * and `reset` refuse instead of deleting what a running step writes.
 */
export function runningOutputs(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names) {
    const m = /^\.(.+)\.lock$/.exec(name);
    if (!m) continue;
    const holder = readInfo(path.join(dir, name));
    const live = holder && (holder.host !== os.hostname() || holder.pid === process.pid || pidAlive(holder.pid));
    if (live) out.push(`${describe(holder)} is writing ${path.join(dir, m[1])}`);
  }
  return out;
}

/** `smox init`/`reset` delete `.smolbox/`: not while a step writes its output there. */
export function refuseWhileRunning(cwd: string, command: string): void {
  const running = runningOutputs(path.join(cwd, '.smolbox'));
  if (running.length) throw new UserError(`smox ${command}: ${running[0]}; wait for it to finish or stop it first`);
}
