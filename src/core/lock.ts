/**
 * A lock file that serialises writers of `.smolbox/` across processes (two `smox` runs in one
 * directory, or the workbench beside a shell). The protocol is the portable one: create the
 * file with O_EXCL ("wx"), write who holds it, remove it when done. A holder that died leaves
 * the file behind, so a waiter breaks a lock whose pid is gone or which is older than
 * STALE_MS — locks here guard a read-modify-write of a few kilobytes, never long work.
 * A lock file is linked into place already written, so it is never seen empty; an empty or
 * torn one (an older smox, a full disk) is broken once it is a second old.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { osError } from './os-error.js';
import { UserError } from './tool.js';

/** A lock older than this is broken even when its holder's pid still answers. */
export const STALE_MS = 30_000;
/** An unreadable lock file older than this is broken: a holder writes it before linking it in. */
export const UNREADABLE_STALE_MS = 1_000;
/** Give up waiting after this long: something holds the lock and keeps renewing it. */
const WAIT_MS = 60_000;

/** What a lock file holds: enough to decide whether its holder is gone. */
export interface LockInfo {
  pid: number;
  host: string;
  /** ISO time it was taken. */
  time: string;
  /** Random token, so a holder removes only its own lock. */
  token: string;
  /** What the holder is doing (a tool's name), for whoever finds the lock taken. */
  what?: string;
}

export function readInfo(lockPath: string): LockInfo | null {
  try {
    const info = JSON.parse(fs.readFileSync(lockPath, 'utf8')) as Partial<LockInfo>;
    return typeof info.pid === 'number' && typeof info.token === 'string' ? (info as LockInfo) : null;
  } catch {
    return null;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the lock file is abandoned. A file without readable contents may be one a holder has
 * just created and not yet written, so only its age can condemn it.
 */
export function isStale(lockPath: string, info: LockInfo | null, now: number, maxAgeMs = STALE_MS): boolean {
  let mtime: number;
  try {
    mtime = fs.statSync(lockPath).mtimeMs;
  } catch {
    return false; // gone already: the next attempt simply takes it
  }
  if (now - mtime > (info ? maxAgeMs : UNREADABLE_STALE_MS)) return true;
  if (info && info.host === os.hostname() && info.pid !== process.pid && !pidAlive(info.pid)) return true;
  return false;
}

/** A breaker holds the break guard for a few system calls; one older than this was killed. */
const GUARD_STALE_MS = 5_000;

/**
 * Removes the lock at `lockPath` if it is still stale. Judging and removing are two steps, and
 * between them the holder may release and a newcomer take a fresh lock; removing blindly (or
 * moving the file aside and back) would then free the newcomer's lock and let two processes in.
 * So breakers take a guard lock first and, holding it, judge the lock afresh and remove it only
 * if it still holds the token they judged.
 */
export function breakLock(lockPath: string, maxAgeMs = STALE_MS): void {
  const guard = `${lockPath}.break`;
  const me: LockInfo = { pid: process.pid, host: os.hostname(), time: new Date().toISOString(), token: randomBytes(8).toString('hex') };
  if (!tryAcquire(guard, me)) {
    const breaker = readInfo(guard);
    if (isStale(guard, breaker, Date.now(), GUARD_STALE_MS)) removeAside(guard, breaker);
    return; // another breaker is at work; the caller simply tries again
  }
  try {
    const judged = readInfo(lockPath);
    if (!isStale(lockPath, judged, Date.now(), maxAgeMs)) return;
    // The holder may have released (and a newcomer locked) while we judged; read again. If the
    // file still holds the judged token, it stays that lock: its holder is gone (or 30 s old),
    // nobody can create the file while it exists, and other breakers wait on the guard.
    const again = readInfo(lockPath);
    if (judged ? again?.token === judged.token : again === null) fs.rmSync(lockPath, { force: true });
  } finally {
    release(guard, me.token);
  }
}

/**
 * Removes a guard left by a killed breaker. Rename is atomic, so one waiter moves it aside; if
 * what it moved is not the guard it judged, it links it back (a newer guard may win meanwhile:
 * this only happens after a breaker was killed mid-break, and breakers judge again anyway).
 */
function removeAside(file: string, judged: LockInfo | null): void {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return; // another waiter moved it first
  }
  const moved = readInfo(aside);
  if (judged && moved && moved.token !== judged.token) {
    try {
      fs.linkSync(aside, file);
    } catch {
      // a newer guard exists
    }
  }
  fs.rmSync(aside, { force: true });
}

/**
 * Takes the lock if free. The holder's info is written to a temp file first and hard-linked to
 * the lock name (link fails with EEXIST like O_EXCL), so a full disk leaves no empty lock.
 */
export function tryAcquire(lockPath: string, info: LockInfo): boolean {
  const tmp = `${lockPath}.new-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(info), { flag: 'wx' });
    fs.linkSync(tmp, lockPath);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code === 'ENOENT') throw new UserError(`cannot lock ${lockPath}: its directory does not exist`);
    throw osError(err, lockPath);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

export function release(lockPath: string, token: string): void {
  // Only our own lock: if it was broken as stale while we held it, someone else's is there now.
  if (readInfo(lockPath)?.token === token) fs.rmSync(lockPath, { force: true });
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` while holding the lock file `lockPath` (its directory must exist). Waiters retry
 * with a jittered, growing backoff. Not re-entrant: do not call withLock on the same path
 * inside `fn`.
 */
export async function withLock<T>(lockPath: string, fn: () => Promise<T> | T): Promise<T> {
  const info: LockInfo = { pid: process.pid, host: os.hostname(), time: '', token: randomBytes(8).toString('hex') };
  const start = Date.now();
  let delay = 2;
  for (;;) {
    info.time = new Date().toISOString();
    if (tryAcquire(lockPath, info)) break;
    const now = Date.now();
    const holder = readInfo(lockPath);
    if (isStale(lockPath, holder, now)) {
      breakLock(lockPath);
      await pause(1); // let a breaker elsewhere finish before trying again
      continue;
    }
    if (now - start > WAIT_MS) {
      const who = holder ? `pid ${holder.pid} since ${holder.time}` : 'another process';
      throw new UserError(`${lockPath} is held by ${who}; if no smox is running, delete that file`);
    }
    await pause(delay * (0.5 + Math.random()));
    delay = Math.min(delay * 1.5, 50);
  }
  try {
    return await fn();
  } finally {
    release(lockPath, info.token);
  }
}
