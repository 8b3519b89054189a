/**
 * Hugging Face model directories, read and written: `config.json`, `model.safetensors` (or
 * shards + `model.safetensors.index.json`), optional `generation_config.json`, tokenizer
 * files, and smolbox's own `smolbox.json` provenance. What we write, Python `transformers`
 * loads with `from_pretrained(dir)`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { replaceDir } from '../core/atomic-write.js';
import { UserError } from '../core/tool.js';
import { checkReplaceable, OWNER_KEY, OWNER_FORMAT } from './owned-dir.js';
import { checkConfigSizes } from './weight-checks.js';
import type { Tensor, Weights } from './tensor.js';
import { dequantizeStored } from '../transforms/quantize.js';
import { isInOut } from './architecture.js';
import { findArchitecture } from './index.js';
import {
  readSafetensors,
  readShardedSafetensors,
  writeSafetensors,
  type RawTensor,
} from './safetensors.js';

/** Tokenizer files copied along with a model, whichever of them exist. */
export const TOKENIZER_FILES: readonly string[] = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'vocab.txt',
  'tokenizer.model',
  'chat_template.jinja',
];

/** `smolbox.json`: how a model directory came to be. */
export interface Provenance {
  /** The input model's path or id (null for a model made from scratch). */
  parent: string | null;
  /** The tool that wrote it, e.g. "transform/pruner". */
  tool: string;
  /** The tool's fully resolved arguments. */
  args: Record<string, unknown>;
  /** Numbers the tool reported (loss, sparsity, …). */
  metrics?: Record<string, number>;
  /** ISO-8601 time of writing. */
  created_at: string;
  /** The steps that made the parent, oldest first (each without its own ancestors). */
  ancestors?: Provenance[];
  [key: string]: unknown;
}

/**
 * Provenance for a model derived from `parent`: the parent's own steps move into `ancestors`,
 * so a model that leaves `.smolbox/` (exported, shipped) still tells how it was made.
 */
export function derivedProvenance(parent: Provenance | undefined, own: Pick<Provenance, 'parent' | 'tool' | 'args' | 'metrics'> & Record<string, unknown>): Provenance {
  const ancestors: Provenance[] = [];
  if (parent) {
    const { ancestors: older, ...step } = parent;
    ancestors.push(...(older ?? []), step);
  }
  return { ...own, created_at: new Date().toISOString(), ...(ancestors.length ? { ancestors } : {}) };
}

/** A model directory in memory. */
export interface Checkpoint {
  /** The directory it was read from. */
  dir: string;
  /** config.json as parsed (`model_type` picks the architecture). */
  config: Record<string, unknown>;
  /** Float parameters by Hugging Face name, sanitized (see `sanitizeWeights`). */
  weights: Weights;
  /** Integer tensors stored in the checkpoint (quantized payloads), if any. */
  raw?: Map<string, RawTensor>;
  /** generation_config.json, when present. */
  generationConfig?: Record<string, unknown>;
  /** smolbox.json, when present. */
  provenance?: Provenance;
  /** Names (relative to `dir`) of the tokenizer files present. */
  tokenizerFiles: string[];
}

/** Everything in a model directory except the weights. */
export type CheckpointInfo = Omit<Checkpoint, 'weights' | 'raw'>;

/** What `writeCheckpoint` needs: a checkpoint, possibly built in memory. */
export interface CheckpointToWrite {
  config: Record<string, unknown>;
  weights: Weights;
  raw?: Map<string, RawTensor>;
  generationConfig?: Record<string, unknown>;
  provenance?: Provenance;
  /** Directory to copy `tokenizerFiles` from (a read checkpoint's own `dir`). */
  dir?: string;
  tokenizerFiles?: string[];
}

export interface ReadCheckpointOptions {
  signal?: AbortSignal;
  /** Bytes of tensor data read so far, and the total. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

function readJson(file: string, required: true): Record<string, unknown>;
function readJson(file: string, required: false): Record<string, unknown> | undefined;
function readJson(file: string, required: boolean): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !required) return undefined;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(`${path.dirname(file)} has no ${path.basename(file)}: not a Hugging Face model directory`);
    }
    throw new UserError(`cannot read ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file} is not valid JSON (${(e as Error).message}); fix or re-download it`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new UserError(`${file} must hold a JSON object`);
  }
  return json as Record<string, unknown>;
}

/** smolbox.json less the ownership marker (it belongs to the directory, not to the model's history). */
function withoutMarker(json: Record<string, unknown> | undefined): Provenance | undefined {
  if (!json) return undefined;
  const { [OWNER_KEY]: _marker, ...rest } = json;
  return Object.keys(rest).length ? (rest as Provenance) : undefined;
}

/** Read a model directory's config, generation config, provenance and tokenizer file list. */
export function readCheckpointInfo(dir: string): CheckpointInfo {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new UserError(`no such model directory: ${dir}`);
  }
  if (!stat.isDirectory()) throw new UserError(`${dir} is a file; a model is a directory holding config.json and model.safetensors`);
  const config = readJson(path.join(dir, 'config.json'), true);
  const generationConfig = readJson(path.join(dir, 'generation_config.json'), false);
  const provenance = withoutMarker(readJson(path.join(dir, 'smolbox.json'), false));
  const tokenizerFiles = TOKENIZER_FILES.filter((f) => fs.existsSync(path.join(dir, f)));
  return { dir, config, generationConfig, provenance, tokenizerFiles };
}

/** Read a whole model directory into memory. */
export function readCheckpoint(dir: string, opts: ReadCheckpointOptions = {}): Checkpoint {
  const info = readCheckpointInfo(dir);
  const single = path.join(dir, 'model.safetensors');
  const index = path.join(dir, 'model.safetensors.index.json');
  let contents;
  if (fs.existsSync(single)) contents = readSafetensors(single, opts);
  else if (fs.existsSync(index)) contents = readShardedSafetensors(index, opts);
  else if (fs.existsSync(path.join(dir, 'pytorch_model.bin')) || fs.existsSync(path.join(dir, 'pytorch_model.bin.index.json'))) {
    throw new UserError(
      `${dir} holds only pytorch_model.bin; smolbox reads safetensors: re-save it with save_pretrained(dir, safe_serialization=True)`,
    );
  } else {
    throw new UserError(`${dir} has no model.safetensors (nor model.safetensors.index.json)`);
  }
  // Before the architecture reads the config: its sizes may be hostile (n_layer: 1e9).
  checkConfigSizes(dir, info.config, contents.weights, contents.raw);
  const weights = sanitizeWeights(info.config, contents.weights);
  // Quantized payloads (transform/quantizer) load as the floats they stand for.
  if (contents.raw.size) dequantizeStored(weights, contents.raw, inOutLookup(info.config));
  return { ...info, weights, ...(contents.raw.size ? { raw: contents.raw } : {}) };
}

/**
 * Map checkpoint names onto the names the architectures use, and drop buffers that are not
 * parameters (each architecture's `sanitize`). Applied on every read, so architectures see one
 * naming per model type.
 */
export function sanitizeWeights(config: Record<string, unknown>, weights: Weights): Weights {
  const arch = findArchitecture(config.model_type);
  return arch?.sanitize ? arch.sanitize(weights) : weights;
}

/** Which weights of this config's architecture are stored [in, out] (Conv1D). */
function inOutLookup(config: Record<string, unknown>): (name: string) => boolean {
  const arch = findArchitecture(config.model_type);
  if (!arch) return () => false;
  const inOut = new Set(arch.parameters(arch.normalizeConfig(config)).filter(isInOut).map((p) => p.name));
  return (name) => inOut.has(name);
}

export interface WriteCheckpointOptions {
  /** Storage dtype of float tensors (default F32). */
  dtype?: 'F32' | 'F16';
  /** The argument that named `dir` (e.g. `--output_model_path`), for the refusal message. */
  flag?: string;
  /** Writes more into the directory being built (the finetuner's training state), so it is swapped in with the model. */
  extra?: (dir: string) => void;
}

/** JSON as transformers writes it: 2-space indent, sorted keys, trailing newline. */
function writeJson(file: string, value: Record<string, unknown>): void {
  fs.writeFileSync(file, JSON.stringify(sortKeys(value), null, 2) + '\n');
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    return Object.fromEntries(
      Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** The dtype config.json says the weights are stored in (`torch_dtype`, or newer `dtype`). */
export function storedDtype(config: Record<string, unknown>): string {
  const d = config.torch_dtype ?? config.dtype;
  return typeof d === 'string' ? d : 'float32';
}

/**
 * Write a model directory, whole: it is built in a sibling temp directory and renamed into
 * place (replaceDir), so a crash never leaves half a model at `dir`. What is at `dir` already
 * is replaced only when smolbox wrote it (checkReplaceable); anything else is refused before a
 * byte is written. smolbox.json always carries the ownership marker, provenance or not, so a
 * re-run may replace its own output. Returns the config.json written (torch_dtype set to the
 * storage dtype).
 */
export function writeCheckpoint(dir: string, ckpt: CheckpointToWrite, opts: WriteCheckpointOptions = {}): Record<string, unknown> {
  const target = path.resolve(dir);
  checkReplaceable(target, opts.flag);
  const dtype = opts.dtype ?? 'F32';
  const config = { ...ckpt.config };
  const dtypeName = dtype === 'F16' ? 'float16' : 'float32';
  if ('torch_dtype' in config || !('dtype' in config)) config.torch_dtype = dtypeName;
  if ('dtype' in config) config.dtype = dtypeName;
  replaceDir(target, (tmp) => {
    writeJson(path.join(tmp, 'config.json'), config);
    if (ckpt.generationConfig) writeJson(path.join(tmp, 'generation_config.json'), ckpt.generationConfig);
    const tensors = new Map<string, Tensor | RawTensor>(ckpt.weights);
    for (const [k, v] of ckpt.raw ?? []) tensors.set(k, v);
    writeSafetensors(path.join(tmp, 'model.safetensors'), tensors, { dtype });
    if (ckpt.dir) {
      for (const f of ckpt.tokenizerFiles ?? []) fs.copyFileSync(path.join(ckpt.dir, f), path.join(tmp, f));
    }
    writeOwnerFile(tmp, ckpt.provenance);
    opts.extra?.(tmp);
  });
  return config;
}

/** smolbox.json: the provenance (when known) with the marker that makes the directory smolbox's. */
export function writeOwnerFile(dir: string, provenance: Provenance | undefined): void {
  writeJson(path.join(dir, 'smolbox.json'), { ...(provenance ?? {}), [OWNER_KEY]: OWNER_FORMAT });
}
