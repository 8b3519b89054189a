/**
 * The Hugging Face cache layout, shared with Python huggingface_hub:
 *
 *   <cacheDir>/models--owner--name/
 *     blobs/<etag>                      file contents (etag: sha256 for LFS/xet, git oid else)
 *     snapshots/<commit>/<path>  →  ../../blobs/<etag>   (relative symlinks)
 *     refs/<revision>                   the commit a branch/tag pointed at when last resolved
 *
 * Offline mode reads it through refs/ without the network, as Python does.
 */
import fs from 'node:fs';
import path from 'node:path';

/** A hub repository: its kind and `owner/name` (or a bare legacy name like `gpt2`). */
export interface HubRepo {
  type: 'model' | 'dataset';
  name: string;
}

export const COMMIT_RE = /^[0-9a-f]{40}$/;

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
  const ref = path.join(folder, 'refs', revision);
  fs.mkdirSync(path.dirname(ref), { recursive: true });
  fs.writeFileSync(ref, sha);
}

export function blobPath(folder: string, etag: string): string {
  return path.join(folder, 'blobs', etag);
}

export function snapshotFile(folder: string, sha: string, relPath: string): string {
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
