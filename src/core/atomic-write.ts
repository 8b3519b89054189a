/**
 * The one way smolbox writes anything that matters (state, history, model directories,
 * exports, cache entries): into a temp name beside the target, fsync, rename over the target,
 * fsync the parent. rename(2) within one directory is atomic, so a reader — or whatever is
 * left after kill -9 or a full disk — sees the old content or the new, never a mix; the
 * fsyncs make the same hold after a power cut (ext4/xfs order data before the rename only
 * when asked to).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { osError } from './os-error.js';
import { UserError } from './tool.js';

/** A hidden sibling name for `target`'s temp copy: same directory, so rename stays atomic. */
export function siblingTemp(target: string, kind: 'tmp' | 'old' = 'tmp'): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Write all of `bytes` at the fd's position (writeSync may write less than asked). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.byteLength;) {
    done += fs.writeSync(fd, bytes, done, Math.min(bytes.byteLength - done, 1 << 30));
  }
}

/** Makes a directory's entries (a rename into it) durable. Some file systems refuse; that is no error. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // EISDIR/EINVAL on file systems without directory fsync: the rename is as durable as they allow.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Writes `file` atomically. `content` is the bytes, or a function that writes them to the open
 * temp file's fd (for outputs too large to hold twice). Errors from the OS (disk full, read-only,
 * permission) become one-line UserErrors naming `file`.
 */
export function writeFileAtomic(file: string, content: string | Uint8Array | ((fd: number) => void)): void {
  const tmp = siblingTemp(file);
  let fd: number | undefined;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fd = fs.openSync(tmp, 'w');
    if (typeof content === 'function') content(fd);
    else writeAll(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw osError(e, file);
  }
  fsyncDir(path.dirname(file));
}

/** fsync every file and directory under `dir` (a tree about to be renamed into place). */
export function syncTree(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) syncTree(full);
    else if (entry.isFile()) {
      const fd = fs.openSync(full, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
  }
  fsyncDir(dir);
}

/**
 * Builds a directory in a sibling temp directory with `fill`, then puts it at `target`: renamed
 * into place when `target` is absent or empty, else swapped (the old one stays whole until the
 * new one is in place, then goes). Whether `target` may be replaced is the caller's decision,
 * made before calling. On any failure the temp directory goes and `target` is as it was.
 */
export function replaceDir(target: string, fill: (tmp: string) => void): void {
  const parent = path.dirname(target);
  const tmp = siblingTemp(target);
  try {
    fs.mkdirSync(parent, { recursive: true });
    // A kill between an earlier swap's two renames left the old directory aside: back first, so
    // that a failure below still leaves it in place.
    recoverDir(target);
    removeDebris(target);
    fs.mkdirSync(tmp);
    fill(tmp);
    syncTree(tmp);
    let existing: string[] | null = null;
    try {
      existing = fs.readdirSync(target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (existing === null) fs.renameSync(tmp, target);
    else if (existing.length === 0) {
      fs.rmdirSync(target);
      fs.renameSync(tmp, target);
    } else {
      // No atomic exchange of directories in Node (renameat2 is not exposed): two renames, and
      // should the second fail, the old one goes back.
      const old = siblingTemp(target, 'old');
      fs.renameSync(target, old);
      try {
        fs.renameSync(tmp, target);
      } catch (e) {
        fs.renameSync(old, target);
        throw e;
      }
      removeQuietly(old);
    }
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw inTarget(osError(e, target), tmp, target);
  }
  fsyncDir(parent);
}

/** A sibling temp name of ours: `.<name>.<kind>-<pid>-<hex>`, with its writer's pid. */
function debrisOf(target: string): { name: string; kind: 'tmp' | 'old'; pid: number }[] {
  const base = path.basename(target);
  const prefix = `.${base}.`;
  let names: string[];
  try {
    names = fs.readdirSync(path.dirname(target));
  } catch {
    return [];
  }
  const out: { name: string; kind: 'tmp' | 'old'; pid: number }[] = [];
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(tmp|old)-(\d+)-[0-9a-f]{8}$/.exec(name.slice(prefix.length)) : null;
    if (m) out.push({ name, kind: m[1] as 'tmp' | 'old', pid: Number(m[2]) });
  }
  return out;
}

/** Whether the writer with this pid may still be between its renames (another live process). */
function writerAlive(pid: number): boolean {
  if (pid === process.pid) return false; // replaceDir is synchronous: none of ours is mid-swap
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Puts back a directory that a killed swap left aside: when `target` is absent and a dead
 * writer's `.<name>.old-*` exists, the newest such is renamed to `target`. Readers call this
 * before reporting a model missing; writers before they write. Returns what it restored, or
 * null; a swap still under way in a live process is left alone (it finishes it itself).
 */
export function recoverDir(target: string): string | null {
  if (fs.existsSync(target) && !isEmptyDir(target)) return null;
  const dir = path.dirname(target);
  const aside = debrisOf(target)
    .filter((d) => d.kind === 'old' && !writerAlive(d.pid))
    .map((d) => ({ ...d, mtime: fs.statSync(path.join(dir, d.name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime)[0];
  if (!aside) return null;
  try {
    // An empty directory made since (an older smox made the output directory up front) holds nothing.
    if (fs.existsSync(target)) fs.rmdirSync(target);
    fs.renameSync(path.join(dir, aside.name), target);
  } catch (e) {
    // Another process restored it (or a new target appeared) first.
    if (fs.existsSync(target)) return null;
    throw osError(e, target);
  }
  fsyncDir(dir);
  return path.join(dir, aside.name);
}

function isEmptyDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory() && fs.readdirSync(p).length === 0;
  } catch {
    return false;
  }
}

/** A dead writer's half-built temp or leftover old copy beside `target`, now only taking space. */
function removeDebris(target: string): void {
  if (!fs.existsSync(target) || isEmptyDir(target)) return; // an old copy may be all there is: keep it
  const dir = path.dirname(target);
  for (const d of debrisOf(target)) if (!writerAlive(d.pid)) removeQuietly(path.join(dir, d.name));
}

/** The new directory is in place: failing to delete the old one is no reason to report failure. */
function removeQuietly(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    // Debris under a hidden temp name, which checkReplaceable and the next write ignore.
  }
}

/** An inner writer's message names its file in the temp directory; name it where it was going. */
function inTarget(err: unknown, tmp: string, target: string): unknown {
  if (!(err instanceof UserError) || !err.message.includes(tmp)) return err;
  return new UserError(err.message.split(tmp).join(target));
}
