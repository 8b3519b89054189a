/**
 * Content hashes of step outputs, as the history records them (`outputs`): what a directory
 * holds, not where or when it was written, so a replay that writes byte-identical weights
 * records the same hashes. Files hash as their bytes, except the two a model directory's
 * writer stamps with its circumstances:
 *
 * - `smolbox.json` hashes as its lineage — each step's tool, parent and arguments, with
 *   `.smolbox/<uuid>` paths made anonymous — without times, metrics (tokens/s varies from run
 *   to run) or the training curve (the weights carry its effect);
 * - `config.json` hashes without the fields that name the library version that wrote it.
 */
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const CHUNK = 1 << 20;

/** config.json fields that say who wrote the file, not what the model is. */
const VOLATILE_CONFIG = ['transformers_version'];

/** A path to a fresh output (`…/.smolbox/<uuid>`), whatever leads up to it. */
const UUID_PATH = /^(?:.*[/\\])?\.smolbox[/\\][0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?=[/\\]|$)/i;

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

/** JSON with sorted keys, so key order never changes a hash. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Strings naming a fresh output lose the uuid (and the directory it was made in). */
function anonymous(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(UUID_PATH, '.smolbox/<output>');
  if (Array.isArray(value)) return value.map(anonymous);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, anonymous(v)]));
  return value;
}

/** smolbox.json as its lineage: tool, parent and arguments of each step, oldest first. */
function lineage(json: Record<string, unknown>): unknown {
  const step = (s: Record<string, unknown>) => anonymous({ tool: s.tool, parent: s.parent, args: s.args });
  const ancestors = Array.isArray(json.ancestors) ? (json.ancestors as Record<string, unknown>[]) : [];
  return [...ancestors.map(step), step(json)];
}

/** What a file contributes to the hash: its bytes, or for the two stamped files their meaning. */
function normalised(rel: string, full: string): string | null {
  if (rel !== 'smolbox.json' && rel !== 'config.json') return null;
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(full, 'utf8'));
  } catch {
    return null; // not JSON after all: its bytes are what there is
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) return null;
  const obj = json as Record<string, unknown>;
  if (rel === 'smolbox.json') return canonical(lineage(obj));
  return canonical(Object.fromEntries(Object.entries(obj).filter(([k]) => !VOLATILE_CONFIG.includes(k))));
}

function hashFile(hash: Hash, full: string, buf: Buffer): void {
  const fd = fs.openSync(full, 'r');
  try {
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, CHUNK, null)) > 0) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * sha256 over a directory's content: every relative path (sorted, '/'-separated) with its
 * size and bytes (read in chunks, so multi-gigabyte weights need not fit in memory), the two
 * stamped files by their meaning (see above). Times and permissions do not count. A plain
 * file hashes as a directory holding just it.
 */
export function hashDirectory(dir: string): string {
  const hash = createHash('sha256');
  const isDir = fs.statSync(dir).isDirectory();
  const entries = isDir ? walk(dir) : [{ rel: path.basename(dir), full: dir, isDir: false }];
  const buf = Buffer.allocUnsafe(CHUNK);
  for (const e of entries) {
    if (e.isDir) {
      hash.update(`d ${e.rel}\0`);
      continue;
    }
    const text = isDir ? normalised(e.rel, e.full) : null;
    if (text !== null) {
      hash.update(`j ${e.rel}\0${Buffer.byteLength(text)}\0${text}`);
      continue;
    }
    hash.update(`f ${e.rel}\0${fs.statSync(e.full).size}\0`);
    hashFile(hash, e.full, buf);
  }
  return hash.digest('hex');
}
