/**
 * The Hugging Face cache layout, shared with Python huggingface_hub:
 *
 *   <cacheDir>/models--owner--name/
 *     blobs/<etag>                      file contents (etag: sha256 for LFS/xet, git oid else)
 *     snapshots/<commit>/<path>  →  ../../blobs/<etag>   (relative symlinks)
 *     refs/<revision>                   the commit a branch/tag pointed at when last resolved
 *
 * Offline mode reads it through refs/ without the network, as Python does. Every name below
 * `<cacheDir>` that comes from a hub's answer (file paths, oids, commits) is checked first
 * (isSafeRepoPath, OID_RE, COMMIT_RE): a hostile server must not steer a write outside it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic-write.js';

/** A hub repository: its kind and `owner/name` (or a bare legacy name like `gpt2`). */
export interface HubRepo {
  type: 'model' | 'dataset';
  name: string;
}

export const COMMIT_RE = /^[0-9a-f]{40}$/;
/** A blob name: a git blob id (sha1, 40 hex) or an LFS/xet content id (sha256, 64 hex). */
export const OID_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * A repository file path or revision as it may appear below the cache: relative,
 * '/'-separated, no empty, '.' or '..' parts, no backslash, NUL or drive letter.
 */
export function isSafeRepoPath(p: unknown): p is string {
  if (typeof p !== 'string' || p === '' || p.startsWith('/') || /[\\\0]/.test(p) || /^[A-Za-z]:/.test(p)) return false;
  return p.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

/** The last line of defence: callers check names first and say which one was bad. */
function assertName(ok: boolean, what: string, value: string): void {
  if (!ok) throw new Error(`refusing a cache path from an unsafe ${what}: ${JSON.stringify(value)}`);
}

/** `models--owner--name` under the cache root. */
export function repoFolder(cacheDir: string, repo: HubRepo): string {
  return path.join(cacheDir, [`${repo.type}s`, ...repo.name.split('/')].join('--'));
}

/** The commit a revision resolves to from the cache alone (undefined when unknown). */
export function cachedCommit(folder: string, revision: string): string | undefined {
  if (COMMIT_RE.test(revision)) return revision;
  try {
    const sha = fs.readFileSync(path.join(folder, 'refs', revision), 'utf8').trim();
    return COMMIT_RE.test(sha) ? sha : undefined;
  } catch {
    return undefined;
  }
}

/** The cached snapshot directory of a revision, if it exists. */
export function cachedSnapshot(folder: string, revision: string): string | undefined {
  const sha = cachedCommit(folder, revision);
  if (!sha) return undefined;
  const dir = path.join(folder, 'snapshots', sha);
  return fs.existsSync(dir) ? dir : undefined;
}

/** Record that `revision` pointed at `sha` (Python writes the same file, no newline). */
export function writeRef(folder: string, revision: string, sha: string): void {
  if (revision === sha) return;
  assertName(isSafeRepoPath(revision) && COMMIT_RE.test(sha), 'revision', `${revision} -> ${sha}`);
  writeFileAtomic(path.join(folder, 'refs', revision), sha);
}

export function blobPath(folder: string, etag: string): string {
  assertName(OID_RE.test(etag), 'blob id', etag);
  return path.join(folder, 'blobs', etag);
}

export function snapshotFile(folder: string, sha: string, relPath: string): string {
  assertName(COMMIT_RE.test(sha), 'commit', sha);
  assertName(isSafeRepoPath(relPath), 'file path', relPath);
  return path.join(folder, 'snapshots', sha, relPath);
}

/** Point `snapshots/<sha>/<relPath>` at its blob with a relative symlink (a copy where links fail). */
export function linkSnapshotFile(folder: string, sha: string, relPath: string, etag: string): string {
  const pointer = snapshotFile(folder, sha, relPath);
  const blob = blobPath(folder, etag);
  fs.mkdirSync(path.dirname(pointer), { recursive: true });
  fs.rmSync(pointer, { force: true });
  try {
    fs.symlinkSync(path.relative(path.dirname(pointer), blob), pointer);
  } catch {
    fs.copyFileSync(blob, pointer);
  }
  return pointer;
}

/** Repository ids in the cache that have at least one snapshot (for completion). */
export function listCachedRepos(cacheDir: string, type: HubRepo['type']): string[] {
  const prefix = `${type}s--`;
  let names: string[];
  try {
    names = fs.readdirSync(cacheDir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix) && fs.existsSync(path.join(cacheDir, n, 'snapshots')))
    .map((n) => n.slice(prefix.length).split('--').join('/'))
    .sort();
}
