/**
 * Downloads from the Hugging Face hub into the standard cache, fetching only the files a
 * model (or a dataset's data) needs. @huggingface/hub does the API calls and the transfer
 * (plain or xet); the cache bookkeeping is ours (see cache.ts) because its
 * `downloadFileToCacheDir` reports no progress, takes no AbortSignal and logs to stdout.
 */
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { datasetInfo, downloadFile, HubApiError, listFiles, modelInfo, type ListFileEntry } from '@huggingface/hub';
import { writeAll } from '../core/atomic-write.js';
import type { Emitter } from '../core/events.js';
import { osError } from '../core/os-error.js';
import { UserError } from '../core/tool.js';
import { TOKENIZER_FILES } from '../models/checkpoint.js';
import { chooseVariant, findVariant, localVariants, variantsIn, type OnnxVariant } from '../models/onnx-layout.js';
import {
  blobPath,
  cachedCommit,
  cachedSnapshot,
  COMMIT_RE,
  isSafeRepoPath,
  linkSnapshotFile,
  OID_RE,
  repoFolder,
  snapshotFile,
  writeRef,
  type HubRepo,
} from './cache.js';
import { hubSettings, type HubSettings } from './settings.js';

export interface DownloadOptions {
  /** Branch, tag or commit (default `main`). */
  revision?: string;
  emit?: Emitter;
  signal?: AbortSignal;
  /** Defaults to `hubSettings()` (the environment). */
  settings?: HubSettings;
}

/** Which ONNX variant of a transformers.js-layout model to fetch: a file, or a dtype. */
export type OnnxRequest = { file: string } | { dtype: string };

export interface ModelDownloadOptions extends DownloadOptions {
  /** An ONNX variant instead of the safetensors weights (io/importer --dtype, a variant spec). */
  onnx?: OnnxRequest;
}

export interface DatasetDownloadOptions extends DownloadOptions {
  /** Which repository files to fetch (default: data files: parquet, jsonl, json, csv, txt). */
  files?: (path: string) => boolean;
}

/** Files of a model repository smolbox reads (weights are chosen separately). */
const MODEL_FILES = new Set(['config.json', 'generation_config.json', 'smolbox.json', ...TOKENIZER_FILES]);
const DATA_FILE_RE = /\.(parquet|jsonl|json|csv|txt)$/i;

/**
 * Download a model's config, tokenizer files and weights: its safetensors, or one ONNX variant
 * (the one asked for; without safetensors, the smallest that runs on the CPU). Returns the
 * snapshot dir.
 */
export function downloadModel(repoId: string, opts: ModelDownloadOptions = {}): Promise<string> {
  const select: Selector = (entries, fetchNow, repo) => selectModelFiles(entries, fetchNow, repo, opts.onnx);
  return downloadRepo({ type: 'model', name: repoId }, opts, select, (dir) => modelSnapshotUsable(dir, opts.onnx));
}

/** Download a dataset's data files (`owner/name` or `datasets/owner/name`); returns the snapshot dir. */
export function downloadDataset(repoId: string, opts: DatasetDownloadOptions = {}): Promise<string> {
  const name = repoId.replace(/^datasets\//, '');
  const want = opts.files ?? ((p: string) => DATA_FILE_RE.test(p));
  return downloadRepo({ type: 'dataset', name }, opts, async (entries) => {
    const files = entries.filter((e) => want(e.path));
    if (!files.length) throw new UserError(`dataset ${name} has no matching data files at this revision; try --revision refs/convert/parquet`);
    return files;
  }, (dir) => fs.existsSync(dir));
}

type Fetcher = (entry: ListFileEntry) => Promise<string>;
type Selector = (entries: ListFileEntry[], fetchNow: Fetcher, repo: HubRepo) => Promise<ListFileEntry[]>;

/**
 * A variant's files, its external data before the .onnx file: a snapshot holding the .onnx file
 * then holds its data too, even after a download cut short.
 */
function variantEntries(variant: OnnxVariant, byPath: Map<string, ListFileEntry>): ListFileEntry[] {
  return [...variant.dataFiles, variant.file].map((p) => byPath.get(p)!);
}

async function selectModelFiles(entries: ListFileEntry[], fetchNow: Fetcher, repo: HubRepo, onnx?: OnnxRequest): Promise<ListFileEntry[]> {
  const byPath = new Map(entries.map((e) => [e.path, e]));
  if (!byPath.has('config.json')) throw new UserError(`${repo.name} on the hub has no config.json: not a transformers model`);
  const picked = entries.filter((e) => MODEL_FILES.has(e.path));
  const listed = entries.map((e) => ({ path: e.path, size: e.size }));
  if (onnx) {
    const where = `${repo.name} on the hub`;
    if ('dtype' in onnx) return [...picked, ...variantEntries(chooseVariant(variantsIn(listed), onnx.dtype, where), byPath)];
    const variant = findVariant(listed, onnx.file);
    if (!variant) throw new UserError(`${where} has no ONNX variant ${onnx.file}; it has ${variantsIn(listed).map((v) => v.file).join(', ') || 'none'}`);
    return [...picked, ...variantEntries(variant, byPath)];
  }
  const single = byPath.get('model.safetensors');
  const index = byPath.get('model.safetensors.index.json');
  if (single) return [...picked, single];
  if (index) {
    // Shards are whatever the index names; fetch it first to know them.
    const indexFile = await fetchNow(index);
    const weightMap = (JSON.parse(fs.readFileSync(indexFile, 'utf8')) as { weight_map?: Record<string, string> }).weight_map ?? {};
    const shards = [...new Set(Object.values(weightMap))].map((s) => {
      const e = byPath.get(s);
      if (!e) throw new UserError(`${repo.name} on the hub: its safetensors index names ${s}, which the repository lacks`);
      return e;
    });
    return [...picked, ...shards];
  }
  // A ready-made ONNX model (transformers.js layout) without safetensors: transformers.js runs it.
  const variants = variantsIn(listed);
  if (variants.length) return [...picked, ...variantEntries(chooseVariant(variants, 'auto', `${repo.name} on the hub`), byPath)];
  if (byPath.has('pytorch_model.bin') || byPath.has('pytorch_model.bin.index.json')) {
    throw new UserError(`${repo.name} on the hub has only pytorch_model.bin weights; smolbox reads safetensors: convert it in Python and import the directory`);
  }
  throw new UserError(`${repo.name} on the hub has no model.safetensors`);
}

/** What to tell a person whose hub answered with something unsafe or wrong. */
const CHECK_ENDPOINT = 'check that HF_ENDPOINT points at a Hugging Face hub';
const HOSTILE_HINT = `refusing to write it; ${CHECK_ENDPOINT}`;

/**
 * The blob name of a listed file, after checking every name the listing gives it: these become
 * paths below the cache (snapshots/<sha>/<path>, blobs/<oid>), so a `../` must never pass.
 */
function etagOf(e: ListFileEntry, label: string): string {
  if (!isSafeRepoPath(e.path)) throw new UserError(`the hub's file list for ${label} names an unsafe path ${JSON.stringify(e.path)}; ${HOSTILE_HINT}`);
  const named: [string, unknown][] = [['oid', e.oid], ['lfs.oid', e.lfs?.oid], ['xetHash', e.xetHash]];
  for (const [what, v] of named) {
    if (v !== undefined && !(typeof v === 'string' && OID_RE.test(v))) {
      throw new UserError(`the hub's file list for ${label} gives ${e.path} the ${what} ${JSON.stringify(v)}, not a sha; ${HOSTILE_HINT}`);
    }
  }
  const etag = e.lfs?.oid ?? e.xetHash ?? e.oid;
  if (!etag) throw new UserError(`the hub's file list for ${label} gives no hash for ${e.path}; ${HOSTILE_HINT}`);
  return etag;
}

async function downloadRepo(repo: HubRepo, opts: DownloadOptions, select: Selector, usable: (dir: string) => boolean): Promise<string> {
  const settings = opts.settings ?? hubSettings();
  const revision = opts.revision ?? 'main';
  const folder = repoFolder(settings.cacheDir, repo);
  const label = `${repo.type === 'dataset' ? 'datasets/' : ''}${repo.name}`;
  if (settings.offline) return offlineSnapshot(label, folder, revision, 'HF_HUB_OFFLINE is set', usable);
  // A commit already in the cache never changes: no need to ask the hub.
  const pinned = path.join(folder, 'snapshots', revision);
  if (COMMIT_RE.test(revision) && usable(pinned)) return pinned;
  const signal = opts.signal;
  const fetchWithSignal: typeof fetch = (input, init) => fetch(input, { ...init, signal });
  const common = { hubUrl: settings.hubUrl, accessToken: settings.accessToken, fetch: fetchWithSignal };
  try {
    const info = repo.type === 'model'
      ? await modelInfo({ ...common, name: repo.name, revision, additionalFields: ['sha'] })
      : await datasetInfo({ ...common, name: repo.name, revision, additionalFields: ['sha'] });
    const sha = (info as { sha?: string }).sha;
    if (!sha || !COMMIT_RE.test(sha)) throw new UserError(`the hub's answer for ${label}@${revision} gives the commit ${JSON.stringify(sha ?? null)}, not a sha; ${HOSTILE_HINT}`);
    const entries: ListFileEntry[] = [];
    for await (const e of listFiles({ ...common, repo, revision: sha, recursive: true })) {
      if (e.type === 'file') entries.push(e);
    }

    let done = 0;
    let total = 0;
    let lastEmit = 0;
    const report = (force = false) => {
      const now = Date.now();
      if (!opts.emit || (!force && now - lastEmit < 100)) return;
      lastEmit = now;
      opts.emit.progress({ label: `download ${label}`, current: done, total, unit: 'B' });
    };
    const fetchOne: Fetcher = async (entry) => {
      const etag = etagOf(entry, label);
      const pointer = snapshotFile(folder, sha, entry.path);
      if (fs.existsSync(pointer)) return pointer;
      const blob = blobPath(folder, etag);
      if (!fs.existsSync(blob)) {
        await transfer(label, entry, sha, blob, { ...common, repo }, signal, (n) => {
          done += n;
          report();
        });
      } else {
        done += entry.size;
      }
      return linkSnapshotFile(folder, sha, entry.path, etag);
    };

    const files = await select(entries, fetchOne, repo);
    total = files.reduce((a, e) => a + e.size, 0);
    for (const entry of files) {
      signal?.throwIfAborted();
      await fetchOne(entry);
    }
    report(true);
    writeRef(folder, revision, sha);
    return path.join(folder, 'snapshots', sha);
  } catch (e) {
    if (signal?.aborted) throw signal.reason ?? e;
    if (e instanceof UserError) throw e;
    if (isNetworkError(e)) {
      const cached = cachedSnapshot(folder, revision);
      if (cached && usable(cached)) {
        opts.emit?.log(`cannot reach ${settings.hubUrl}; using the cached copy of ${label}`, 'warn');
        return cached;
      }
      throw new UserError(
        `cannot reach ${settings.hubUrl} to download ${label}, and it is not in the cache (${settings.cacheDir}): check the network or HF_ENDPOINT, or set HF_HUB_OFFLINE=1 after caching it`,
      );
    }
    throw hubError(e, repo, label, revision, settings);
  }
}

/**
 * What a listed file's bytes must hash to: LFS (and xet) files are named by the sha256 of their
 * content; other files by their git blob id, sha1("blob <size>\0" + content).
 */
function expectedHash(entry: ListFileEntry, label: string): { algo: string; want: string; hash: Hash } {
  if (entry.lfs) return { algo: 'sha256', want: entry.lfs.oid, hash: createHash('sha256') };
  if (!entry.oid) throw new UserError(`the hub's file list for ${label} gives ${entry.path} no hash to check it against; ${HOSTILE_HINT}`);
  return { algo: 'git sha1', want: entry.oid, hash: createHash('sha1').update(`blob ${entry.size}\0`) };
}

/**
 * Stream one file into `blobs/<etag>` via a `.incomplete` file, reporting bytes as they arrive.
 * It is renamed into place only when its size and hash are the ones the listing announced.
 */
async function transfer(
  label: string,
  entry: ListFileEntry,
  sha: string,
  blob: string,
  common: { hubUrl: string; accessToken?: string; fetch: typeof fetch; repo: HubRepo },
  signal: AbortSignal | undefined,
  onBytes: (n: number) => void,
): Promise<void> {
  const file = await downloadFile({ ...common, path: entry.path, revision: sha });
  if (!file) throw new UserError(`${label}: ${entry.path} vanished from the hub while downloading; try again`);
  const incomplete = `${blob}.incomplete`;
  const check = expectedHash(entry, label);
  let written = 0;
  let out: number | undefined;
  try {
    fs.mkdirSync(path.dirname(blob), { recursive: true });
    out = fs.openSync(incomplete, 'w');
    const reader = file.stream().getReader();
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        // A body that ends before its announced length is a truncation, whatever the socket says.
        if (!signal?.aborted && written < entry.size) throw truncated(label, entry, written, e);
        throw typeof e === 'string' ? new Error(e) : e; // the library aborts its stream with a message string
      }
      if (chunk.done) break;
      writeAll(out, chunk.value);
      check.hash.update(chunk.value);
      written += chunk.value.byteLength;
      onBytes(chunk.value.byteLength);
    }
    if (written !== entry.size) throw truncated(label, entry, written);
    const got = check.hash.digest('hex');
    if (got !== check.want) {
      throw new UserError(`${label}: ${entry.path} downloaded with ${check.algo} ${got}, but the hub announced ${check.want}; nothing was cached; try again, or ${CHECK_ENDPOINT}`);
    }
    fs.fsyncSync(out);
    fs.closeSync(out);
    out = undefined;
    fs.renameSync(incomplete, blob);
  } catch (e) {
    if (out !== undefined) fs.closeSync(out);
    fs.rmSync(incomplete, { force: true });
    throw osError(e, blob);
  }
}

function truncated(label: string, entry: ListFileEntry, written: number, cause?: unknown): UserError {
  const why = written > entry.size ? 'more bytes than announced' : 'the body was cut short';
  const err = new UserError(`download of ${label}/${entry.path} is truncated: got ${written} of ${entry.size} bytes (${why}); try again`);
  if (cause !== undefined) err.cause = cause;
  return err;
}

function offlineSnapshot(label: string, folder: string, revision: string, why: string, usable: (dir: string) => boolean): string {
  const cached = cachedSnapshot(folder, revision);
  if (cached && usable(cached)) return cached;
  const known = cachedCommit(folder, revision) ? ' (its snapshot is missing)' : '';
  throw new UserError(
    `${label}@${revision} is not in the Hugging Face cache (${folder})${known} and ${why}: unset HF_HUB_OFFLINE to download it`,
  );
}

/**
 * A cached model snapshot is usable when its config and all its weights are there: the ONNX
 * variant asked for, else the safetensors, else any ONNX variant (fetched after its data).
 */
function modelSnapshotUsable(dir: string, onnx?: OnnxRequest): boolean {
  if (!fs.existsSync(path.join(dir, 'config.json'))) return false;
  if (onnx) return 'file' in onnx ? fs.existsSync(path.join(dir, onnx.file)) : localVariants(dir).some((v) => v.dtype === onnx.dtype);
  if (fs.existsSync(path.join(dir, 'model.safetensors'))) return true;
  try {
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
    return Object.values(index.weight_map).every((s) => fs.existsSync(path.join(dir, s)));
  } catch {
    return localVariants(dir).length > 0;
  }
}

/** fetch() rejects with a TypeError whose cause carries the socket error code. */
function isNetworkError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e.cause as { code?: string } | undefined)?.code ?? (e as NodeJS.ErrnoException).code;
  if (code && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|UND_ERR_\w+)$/.test(code)) return true;
  return e instanceof TypeError && e.message === 'fetch failed';
}

function hubError(e: unknown, repo: HubRepo, label: string, revision: string, settings: HubSettings): Error {
  if (!(e instanceof HubApiError)) return e as Error;
  const kind = repo.type === 'model' ? 'model' : 'dataset';
  switch (e.statusCode) {
    case 401:
      return new UserError(settings.accessToken
        ? `the hub rejected HF_TOKEN for ${label} (HTTP 401): check the token, or that the ${kind} exists`
        : `no such ${kind} on the hub, or it is private or gated: ${label} (HTTP 401); set HF_TOKEN to a token with access`);
    case 403:
      return new UserError(`access to ${label} is denied (HTTP 403): accept its terms on the hub page, and set HF_TOKEN to a token with access`);
    case 404:
      return new UserError(revision === 'main'
        ? `no such ${kind} on the hub: ${label}`
        : `no such ${kind} or revision on the hub: ${label}@${revision}`);
    default:
      return new UserError(`the hub answered HTTP ${e.statusCode} for ${label}: ${e.message.split('. URL:')[0]}`);
  }
}
