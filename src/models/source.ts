/**
 * Where a model or dataset comes from, given as a user types it: a local path (relative to
 * the working directory), `builtin:<name>` (shipped in the package's assets/), or a Hugging
 * Face hub id (`owner/name`, or a legacy bare name like `gpt2`), downloaded into the cache.
 * Every spec resolves to a local path. A model in the transformers.js layout may be named by
 * its variant file, locally (`dir/onnx/model_q4.onnx`) or on the hub
 * (`owner/name/onnx/model_q4.onnx`): the spec resolves to that file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { recoverDir } from '../core/atomic-write.js';
import type { Emitter } from '../core/events.js';
import { readHistory } from '../core/history.js';
import { UserError } from '../core/tool.js';
import type { HubSettings } from '../hub/settings.js';
import { variantOfFile } from './onnx-layout.js';

export const BUILTIN_PREFIX = 'builtin:';

export interface SourceOptions {
  /** Base for relative paths (default process.cwd()). */
  cwd?: string;
  /** Hub revision (branch, tag or commit). */
  revision?: string;
  emit?: Emitter;
  signal?: AbortSignal;
  /** Hub settings (default: from the environment). */
  settings?: HubSettings;
}

export interface ModelSourceOptions extends SourceOptions {
  /** A hub model's ONNX variant to fetch (io/importer --dtype) instead of its safetensors. */
  onnxDtype?: string;
}

export interface DatasetSourceOptions extends SourceOptions {
  /** Which files of a hub dataset to fetch (default: its data files). */
  files?: (path: string) => boolean;
}

/** Extensions that mark a spec as a file path, never a hub id. */
const FILE_EXT_RE = /\.(txt|json|jsonl|csv|tsv|parquet|safetensors|bin|onnx|gguf|md)$/i;
const HUB_ID_RE = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;
/** A hub model's ONNX variant file: `owner/name/onnx/model_q4.onnx`. */
const HUB_ONNX_FILE_RE = /^([A-Za-z0-9][\w.-]*(?:\/[A-Za-z0-9][\w.-]*)?)\/(onnx\/[\w.-]+\.onnx)$/;

let root: string | undefined;

/** The package root (holding package.json and assets/), from source or from dist/. */
export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (isSmolboxPackage(path.join(dir, 'package.json'))) return (root = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the smolbox package root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

function isSmolboxPackage(file: string): boolean {
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string }).name === 'smolbox';
  } catch {
    return false;
  }
}

/** Names of the models (or datasets) shipped in assets/. */
export function listBuiltins(kind: 'models' | 'datasets'): string[] {
  try {
    return fs.readdirSync(path.join(packageRoot(), 'assets', kind)).filter((n) => !n.startsWith('.')).sort();
  } catch {
    return [];
  }
}

function expandHome(spec: string): string {
  return spec === '~' || spec.startsWith('~/') ? path.join(os.homedir(), spec.slice(1)) : spec;
}

/** Whether a spec that does not exist locally was meant as a path rather than a hub id. */
function looksLocal(spec: string, cwd: string): boolean {
  if (/^[.~/\\]/.test(spec) || spec.includes('\\') || spec.endsWith('/') || /^[A-Za-z]:/.test(spec)) return true;
  if (FILE_EXT_RE.test(spec) || !HUB_ID_RE.test(spec)) return true;
  // `models/foo` where ./models exists is a path with a typo, not the hub's models/foo.
  const first = spec.split('/')[0];
  return spec.includes('/') && fs.existsSync(path.join(cwd, first));
}

/** The step recorded in this directory's history as writing output `spec` ("tool at time"), if any. */
function stepThatWrote(spec: string, cwd: string): string | undefined {
  let records: ReturnType<typeof readHistory>;
  try {
    records = readHistory(cwd);
  } catch {
    return undefined;
  }
  const r = [...records].reverse().find((rec) => rec.status === 'ok' && Object.keys(rec.outputs ?? {}).some((k) => rec.args[k] === spec));
  return r && `${r.name} at ${r.time}`;
}

function builtin(kind: 'models' | 'datasets', name: string): string {
  const names = listBuiltins(kind);
  const found = names.find((n) => n === name) ?? names.find((n) => n.replace(/\.[^.]+$/, '') === name);
  if (!name || !found) {
    const what = kind === 'models' ? 'model' : 'dataset';
    throw new UserError(`no builtin ${what} "${name}"; available: ${names.map((n) => BUILTIN_PREFIX + n.replace(/\.[^.]+$/, '')).join(', ') || 'none'}`);
  }
  return path.join(packageRoot(), 'assets', kind, found);
}

/**
 * Resolve a model spec to a local model directory (or an ONNX variant file), downloading from
 * the hub if needed.
 */
export async function resolveModelSource(spec: string, opts: ModelSourceOptions = {}): Promise<string> {
  const trimmed = spec.trim();
  if (!trimmed) throw new UserError('no model given: pass a directory, a hub id (owner/name) or builtin:<name>');
  if (trimmed.startsWith(BUILTIN_PREFIX)) return builtin('models', trimmed.slice(BUILTIN_PREFIX.length));
  const cwd = opts.cwd ?? process.cwd();
  const local = path.resolve(cwd, expandHome(trimmed));
  const restored = recoverDir(local);
  if (restored) opts.emit?.log(`${trimmed} was left aside by an interrupted write; restored it from ${path.basename(restored)}`, 'warn');
  if (fs.existsSync(local)) {
    if (!fs.statSync(local).isDirectory() && !variantOfFile(local)) {
      throw new UserError(`${trimmed} is a file; a model is a directory holding config.json and model.safetensors (or onnx/model*.onnx)`);
    }
    return local;
  }
  const hubFile = HUB_ONNX_FILE_RE.exec(trimmed);
  if (hubFile && !looksLocal(hubFile[1], cwd)) {
    const { downloadModel } = await import('../hub/download.js');
    return path.join(await downloadModel(hubFile[1], { ...opts, onnx: { file: hubFile[2] } }), hubFile[2]);
  }
  if (looksLocal(trimmed, cwd)) throw new UserError(`no such directory: ${trimmed}`);
  const writer = stepThatWrote(trimmed, cwd);
  // A directory a step wrote here is no hub id to download, even when it looks like one.
  if (writer) throw new UserError(`no such directory: ${trimmed} (written by ${writer}); it was moved or deleted: pass another --model_path, or smox set model_path <dir>`);
  const { downloadModel } = await import('../hub/download.js');
  return downloadModel(trimmed, { ...opts, ...(opts.onnxDtype ? { onnx: { dtype: opts.onnxDtype } } : {}) });
}

/**
 * How the state names a model's ONNX variant: the spec as given when it names the file
 * already, else the file below it (`dir/onnx/model_q4.onnx`, `owner/name/onnx/model_q4.onnx`).
 */
export function variantSpec(spec: string, file: string): string {
  const trimmed = spec.trim().replace(/\/+$/, '');
  return trimmed.endsWith(`/${file}`) ? trimmed : `${trimmed}/${file}`;
}

/**
 * Resolve a dataset spec to a local file or directory: a path, `builtin:<name>`, or a hub
 * dataset (`datasets/owner/name` or `owner/name`), whose snapshot directory is returned.
 */
export async function resolveDatasetSource(spec: string, opts: DatasetSourceOptions = {}): Promise<string> {
  const trimmed = spec.trim();
  if (!trimmed) throw new UserError('no dataset given: pass a file, a directory, a hub id (owner/name) or builtin:<name>');
  if (trimmed.startsWith(BUILTIN_PREFIX)) return builtin('datasets', trimmed.slice(BUILTIN_PREFIX.length));
  const cwd = opts.cwd ?? process.cwd();
  const local = path.resolve(cwd, expandHome(trimmed));
  if (fs.existsSync(local)) return local;
  const id = trimmed.replace(/^datasets\//, '');
  if (!trimmed.startsWith('datasets/') && looksLocal(trimmed, cwd)) throw new UserError(`no such file or directory: ${trimmed}`);
  if (!HUB_ID_RE.test(id)) throw new UserError(`not a hub dataset id: ${trimmed} (expected datasets/owner/name)`);
  const { downloadDataset } = await import('../hub/download.js');
  return downloadDataset(id, opts);
}
