/**
 * The engine services a tool reaches through `ctx.engine`: models held in memory and the ORT
 * sessions built over them. The one-shot CLI makes one Engine per process; the workbench's
 * worker keeps one for the whole session, so a chain of steps reads a model from disk once.
 *
 * Two kinds of model live here: safetensors checkpoints of the families we own (our graphs,
 * every tool), and ready-made ONNX models in the transformers.js layout, which transformers.js
 * runs (transformers-js.ts). Text tools ask for a Generator or a Scorer (text-model.ts) and get
 * either; tools that need our weights ask for `model()`, which refuses the second kind.
 *
 * A model is cached by its directory and a fingerprint of the directory's files (names,
 * sizes, modification times): a directory rewritten behind our back is read again, one that
 * a tool just wrote and handed over with `adopt` is not.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Emitter } from '../core/events.js';
import { UserError } from '../core/tool.js';
import type { Architecture, DecoderConfig } from '../models/architecture.js';
import { checkFinite } from '../models/weight-checks.js';
import { readCheckpoint, readCheckpointInfo, storedDtype, TOKENIZER_FILES, type Checkpoint } from '../models/checkpoint.js';
import { resolveArchitecture } from '../models/index.js';
import { chooseVariant, isOnnxLayoutDir, localVariant, localVariants, refuseOnnxSource, variantOfFile, type OnnxVariant } from '../models/onnx-layout.js';
import { resolveModelSource } from '../models/source.js';
import { numel, type Weights } from '../models/tensor.js';
import { loadTokenizer, type TextTokenizer } from '../models/tokenizer.js';
import type { DecoderSession, DecoderSessionOptions } from '../runtime/session.js';
import type { QuantizedMatrix } from '../transforms/blocks.js';
import { quantizedMatrices } from '../transforms/quantize.js';
import { generatorOver, scorerOver, type Generator, type Scorer } from './text-model.js';
import type { OnnxModel } from './transformers-js.js';

/** A model in memory, ready for sessions and transforms. Treat `weights` as read-only. */
export interface LoadedModel {
  /** The directory it lives in (absolute). */
  dir: string;
  /** config.json as parsed. */
  config: Record<string, unknown>;
  arch: Architecture<DecoderConfig>;
  cfg: DecoderConfig;
  weights: Weights;
  /** Null when the directory holds no tokenizer files. */
  tokenizer: TextTokenizer | null;
  /** Tokenizer file names present in `dir`, for copying them on. */
  tokenizerFiles: string[];
  generationConfig?: Record<string, unknown>;
  provenance?: Checkpoint['provenance'];
  parameters: number;
  /** Bytes the float weights take in memory. */
  bytes: number;
  /** Quantized weights (transform/quantizer), which sessions run through the integer kernels. */
  quantized: ReadonlyMap<string, QuantizedMatrix>;
}

/** What the workbench's state panel shows about the model in memory. */
export interface ModelSummary {
  path: string;
  modelType: string;
  /** Null for an ONNX model: transformers.js does not count them. */
  parameters: number | null;
  dtype: string;
  bytes: number;
  tokenizer: string | null;
  /** Who runs it: `smolbox`, or `transformers.js (onnx/model_q4.onnx)`. */
  engine: string;
}

/** A model in memory, of either kind. */
export type HeldModel = { kind: 'smolbox'; model: LoadedModel } | { kind: 'transformers.js'; model: OnnxModel };

/** What runs a safetensors checkpoint of ours. */
export const SMOLBOX_ENGINE = 'smolbox';

export interface LoadOptions {
  /** Base for a relative path (the tool's cwd). */
  cwd: string;
  signal?: AbortSignal;
  emit?: Emitter;
  /** Load weights holding NaN or Inf (io/importer --allow_nonfinite); refused otherwise. */
  allowNonfinite?: boolean;
  /**
   * The ONNX variant of a transformers.js-layout model (io/importer --dtype); `auto` or unset:
   * the variant a spec names, else the smallest that runs on the CPU.
   */
  dtype?: string;
}

interface CacheEntry {
  fingerprint: string;
  held: HeldModel;
  sessions: Map<string, Promise<DecoderSession>>;
}

/** Where a spec's model lives, and which kind it is. */
export type Located = { kind: 'smolbox'; dir: string } | { kind: 'transformers.js'; dir: string; variant: OnnxVariant };

/** Models kept in memory at once: the current one and the one it was made from. */
const MAX_MODELS = 2;

/** Progress for reads big enough to notice (≥ 64 MB), in steps of 5 %. */
function loadProgress(dir: string, emit?: Emitter): ((current: number, total: number) => void) | undefined {
  if (!emit) return undefined;
  let shown = -1;
  return (current, total) => {
    if (total < 64 * 2 ** 20) return;
    const twentieth = Math.floor((20 * current) / total);
    if (twentieth === shown) return;
    shown = twentieth;
    emit.progress({ label: `load ${path.basename(dir)}`, current, total, unit: 'B' });
  };
}

/** Names, sizes and modification times of a directory's files, as one string. */
export function fingerprint(dir: string): string {
  const parts: string[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const st = fs.statSync(path.join(dir, name));
    if (st.isFile()) parts.push(`${name}:${st.size}:${st.mtimeMs}`);
  }
  return parts.join('|');
}

/** The directory's tokenizer; null when it holds neither tokenizer.json nor vocab.json + merges.txt. */
function tokenizerOrNull(dir: string, files: string[]): TextTokenizer | null {
  const usable = files.includes('tokenizer.json') || (files.includes('vocab.json') && files.includes('merges.txt'));
  return usable ? loadTokenizer(dir) : null;
}

/** Builds the in-memory form from a config and weights (read from disk or made by a tool). */
export function describeModel(dir: string, ckpt: Omit<Checkpoint, 'dir'>, tokenizer: TextTokenizer | null): LoadedModel {
  const { arch, cfg } = resolveArchitecture(ckpt.config);
  let parameters = 0;
  for (const p of arch.parameters(cfg)) {
    const t = ckpt.weights.get(p.name);
    if (!t) throw new UserError(`${dir}: the weights lack ${p.name}, which a ${cfg.modelType} model with this config.json needs`);
    if (t.shape.join() !== p.shape.join()) {
      throw new UserError(`${dir}: ${p.name} has shape [${t.shape}] but config.json implies [${p.shape}]; the config and the weights disagree`);
    }
    parameters += numel(p.shape);
  }
  return {
    dir,
    config: ckpt.config,
    arch,
    cfg,
    weights: ckpt.weights,
    tokenizer,
    tokenizerFiles: ckpt.tokenizerFiles,
    generationConfig: ckpt.generationConfig,
    provenance: ckpt.provenance,
    parameters,
    bytes: parameters * 4,
    quantized: quantizedMatrices(ckpt.raw),
  };
}

export class Engine {
  readonly threads: number;
  private readonly cache = new Map<string, CacheEntry>();
  private current: HeldModel | null = null;

  constructor(opts: { threads?: number } = {}) {
    this.threads = opts.threads && opts.threads > 0 ? Math.floor(opts.threads) : os.availableParallelism();
  }

  /**
   * The checkpoint a spec names (directory, hub id, builtin:name), from memory when unchanged on
   * disk — for tools that need our weights: a transformers.js ONNX model is refused in one line.
   */
  async model(spec: string, opts: LoadOptions): Promise<LoadedModel> {
    const dir = await resolveModelSource(spec, { cwd: opts.cwd, signal: opts.signal, emit: opts.emit });
    refuseOnnxSource(spec, dir);
    return this.checkpoint(dir, opts);
  }

  /** The model a spec names, of either kind (io/importer, io/exporter). */
  async load(spec: string, opts: LoadOptions): Promise<HeldModel> {
    const at = await this.locate(spec, opts);
    if (at.kind === 'smolbox') return { kind: 'smolbox', model: await this.checkpoint(at.dir, opts) };
    return { kind: 'transformers.js', model: await this.onnx(at.dir, at.variant) };
  }

  /** What infer/sampler runs, whichever engine holds the model. */
  async generator(spec: string, opts: LoadOptions): Promise<Generator> {
    const held = await this.load(spec, opts);
    if (held.kind === 'smolbox') return generatorOver(ownText(held.model), () => this.session(held.model));
    return generatorOver(onnxText(held.model), () => held.model.decoder('last'));
  }

  /** What eval/perplexity runs, whichever engine holds the model. */
  async scorer(spec: string, opts: LoadOptions): Promise<Scorer> {
    const held = await this.load(spec, opts);
    if (held.kind === 'smolbox') return scorerOver(ownText(held.model), () => this.session(held.model, { logits: 'all' }));
    return scorerOver(onnxText(held.model), () => held.model.decoder('all'));
  }

  /**
   * Where a spec's model lives: a variant file (`<root>/onnx/model_q4.onnx`) or a directory in
   * the transformers.js layout is an ONNX model; any other directory a checkpoint of ours.
   */
  async locate(spec: string, opts: LoadOptions): Promise<Located> {
    const dtype = opts.dtype && opts.dtype !== 'auto' ? opts.dtype : undefined;
    const source = await resolveModelSource(spec, { cwd: opts.cwd, signal: opts.signal, emit: opts.emit, onnxDtype: dtype });
    const named = variantOfFile(source);
    if (named) {
      const variant = localVariant(named.root, named.variant)!;
      if (dtype && variant.dtype !== dtype) throw new UserError(`${spec} is the ${variant.dtype} variant, not ${dtype}: pass the model's directory with --dtype ${dtype}`);
      return { kind: 'transformers.js', dir: named.root, variant };
    }
    if (dtype || isOnnxLayoutDir(source)) return { kind: 'transformers.js', dir: source, variant: chooseVariant(localVariants(source), dtype ?? 'auto', spec) };
    return { kind: 'smolbox', dir: source };
  }

  private async checkpoint(dir: string, opts: LoadOptions): Promise<LoadedModel> {
    const print = fingerprint(dir);
    const hit = this.cache.get(dir);
    if (hit && hit.fingerprint === print && hit.held.kind === 'smolbox') return this.use(dir, hit).model as LoadedModel;
    const ckpt = readCheckpoint(dir, { signal: opts.signal, onProgress: loadProgress(dir, opts.emit) });
    // NaN or Inf weights sample garbage and score NaN without an error: refused at the door.
    if (!opts.allowNonfinite) checkFinite(dir, ckpt.weights, '--allow_nonfinite to io/importer');
    const model = describeModel(dir, ckpt, tokenizerOrNull(dir, ckpt.tokenizerFiles));
    await this.store(dir, print, { kind: 'smolbox', model });
    return model;
  }

  /** A transformers.js model, cached by its variant file like a checkpoint by its directory. */
  private async onnx(dir: string, variant: OnnxVariant): Promise<OnnxModel> {
    const key = path.join(dir, variant.file);
    // The root holds config and tokenizer, onnx/ the variant and its data files.
    const print = `${fingerprint(dir)}#${fingerprint(path.dirname(key))}`;
    const hit = this.cache.get(key);
    if (hit && hit.fingerprint === print && hit.held.kind === 'transformers.js') return this.use(key, hit).model as OnnxModel;
    const { loadOnnxModel } = await import('./transformers-js.js');
    const info = readCheckpointInfo(dir);
    const model = await loadOnnxModel(dir, variant, info.config, tokenizerOrNull(dir, info.tokenizerFiles), { threads: this.threads });
    await this.store(key, print, { kind: 'transformers.js', model });
    return model;
  }

  /**
   * Hands the engine a model a tool has just written to `dir` (already on disk), so the next
   * step uses it from memory.
   */
  async adopt(dir: string, ckpt: Omit<Checkpoint, 'dir' | 'tokenizerFiles'>): Promise<LoadedModel> {
    const abs = path.resolve(dir);
    const tokenizerFiles = TOKENIZER_FILES.filter((f) => fs.existsSync(path.join(abs, f)));
    const model = describeModel(abs, { ...ckpt, tokenizerFiles }, tokenizerOrNull(abs, tokenizerFiles));
    await this.store(abs, fingerprint(abs), { kind: 'smolbox', model });
    return model;
  }

  /**
   * An ORT session over a model's weights, built once per (model, options). `weights`
   * replaces the model's own (the tweaker's temporary deltas): such a session is not cached.
   */
  async session(model: LoadedModel, opts: DecoderSessionOptions & { weights?: Weights } = {}): Promise<DecoderSession> {
    const { DecoderSession } = await import('../runtime/session.js');
    const options = { logits: opts.logits ?? 'last', threads: opts.threads ?? this.threads, quantized: model.quantized };
    // Temporary weights (the tweaker's deltas) are floats: quantized payloads would ignore them.
    if (opts.weights) return DecoderSession.create(model.arch, model.cfg, opts.weights, { ...options, quantized: undefined });
    const entry = this.cache.get(model.dir);
    if (!entry || entry.held.model !== model) return DecoderSession.create(model.arch, model.cfg, model.weights, options);
    const key = `${options.logits}/${options.threads}`;
    let session = entry.sessions.get(key);
    if (!session) {
      session = DecoderSession.create(model.arch, model.cfg, model.weights, options);
      entry.sessions.set(key, session);
      session.catch(() => entry.sessions.delete(key));
    }
    return session;
  }

  /**
   * Drops `model` from memory, with its sessions, when it is the one held for its directory;
   * the next `model()` of that directory reads it from disk again. For a tool that has taken
   * its own copy of the weights and would otherwise keep a second one alive for its whole run
   * (train/finetuner: the input model's float weights beside the trainer's, 0.54 GB at
   * SmolLM2-135M, 2 GB at Qwen2.5-0.5B).
   */
  async forget(model: LoadedModel): Promise<void> {
    const entry = this.cache.get(model.dir);
    if (!entry || entry.held.model !== model) return;
    this.cache.delete(model.dir);
    if (this.current === entry.held) this.current = null;
    await releaseSessions(entry);
  }

  /** The most recently used model, for the state panel; null before any. */
  summary(): ModelSummary | null {
    if (!this.current) return null;
    const { kind, model: m } = this.current;
    const tok = m.tokenizer ? `${m.tokenizer.vocabSize} tokens` : null;
    if (kind === 'transformers.js') {
      // What ORT holds is about the variant's bytes on disk.
      return { path: m.dir, modelType: m.modelType, parameters: null, dtype: m.variant.dtype, bytes: m.variant.bytes, tokenizer: tok, engine: onnxEngineLabel(m.variant) };
    }
    return { path: m.dir, modelType: m.cfg.modelType, parameters: m.parameters, dtype: describeDtype(m), bytes: m.bytes, tokenizer: tok, engine: SMOLBOX_ENGINE };
  }

  /** Parameter names of the most recently used model of ours (completion of param_pattern/deltas). */
  parameterNames(): string[] {
    const held = this.current;
    return held?.kind === 'smolbox' ? held.model.arch.parameters(held.model.cfg).map((p) => p.name) : [];
  }

  /** Drops every model and frees the native sessions. */
  async release(): Promise<void> {
    const entries = [...this.cache.values()];
    this.cache.clear();
    this.current = null;
    await Promise.all(entries.map((e) => releaseSessions(e)));
  }

  private use(key: string, entry: CacheEntry): HeldModel {
    // Most recently used last, so eviction drops the oldest.
    this.cache.delete(key);
    this.cache.set(key, entry);
    this.current = entry.held;
    return entry.held;
  }

  private async store(key: string, print: string, held: HeldModel): Promise<void> {
    const old = this.cache.get(key);
    if (old) {
      this.cache.delete(key);
      await releaseSessions(old);
    }
    this.use(key, { fingerprint: print, held, sessions: new Map() });
    while (this.cache.size > MAX_MODELS) {
      const [oldest, entry] = this.cache.entries().next().value as [string, CacheEntry];
      this.cache.delete(oldest);
      await releaseSessions(entry);
    }
  }
}

async function releaseSessions(entry: CacheEntry): Promise<void> {
  const sessions = await Promise.allSettled(entry.sessions.values());
  entry.sessions.clear();
  await Promise.all(sessions.map((s) => (s.status === 'fulfilled' ? s.value.release() : undefined)));
  if (entry.held.kind === 'transformers.js') await entry.held.model.release();
}

function ownText(m: LoadedModel) {
  return { dir: m.dir, tokenizer: m.tokenizer, engine: SMOLBOX_ENGINE, maxPositions: m.cfg.maxPositions };
}

function onnxText(m: OnnxModel) {
  return { dir: m.dir, tokenizer: m.tokenizer, engine: onnxEngineLabel(m.variant), maxPositions: m.maxPositions };
}

/** `transformers.js (onnx/model_q4.onnx)`; here, not in transformers-js.ts, which imports the library's types. */
export function onnxEngineLabel(variant: OnnxVariant): string {
  return `transformers.js (${variant.file})`;
}

/** How the weights are held: floats compute in float32; quantized matrices stay in int blocks. */
function describeDtype(m: LoadedModel): string {
  const q = [...m.quantized.values()];
  if (q.length) {
    // A head kept at 8 bits beside 4-bit layers: each width with its count, the widest last.
    const counts = [4, 8].map((bits) => [bits, q.filter((x) => x.bits === bits).length]).filter(([, n]) => n > 0);
    return `${counts.map(([bits, n]) => `int${bits} blocks (${n} ${n === 1 ? 'matrix' : 'matrices'})`).join(', ')} + float32`;
  }
  const stored = storedDtype(m.config);
  return stored !== 'float32' ? `float32 (stored ${stored})` : 'float32';
}
