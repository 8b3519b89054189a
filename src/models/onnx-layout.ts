/**
 * The transformers.js layout of a ready-made ONNX model: config.json and tokenizer files at the
 * root, the decoder in onnx/ as one file per dtype variant — onnx/model.onnx (fp32),
 * model_fp16.onnx, model_quantized.onnx (q8), model_q4.onnx, … — each with optional external
 * data files beside it (model_q4.onnx_data, model_q4.onnx_data_1, …). Older exports name the
 * decoder decoder_model_merged*.onnx. transformers.js runs these models; we only pick the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/tool.js';

/**
 * The dtypes transformers.js names (its DEFAULT_DTYPE_SUFFIX_MAPPING) and the file suffix of
 * each. `cpu`: onnxruntime's CPU provider has kernels for the variant's ops (float32 MatMul,
 * MatMulInteger/DynamicQuantizeMatMul for 8-bit, MatMulNBits at 2/4 bits, MatMulBnb4); the
 * fp16 variants compute in half precision, which it runs partly or not at all, so they are
 * taken only when asked for by name.
 */
export const ONNX_DTYPES = {
  fp32: { suffix: '', cpu: true },
  fp16: { suffix: '_fp16', cpu: false },
  q8: { suffix: '_quantized', cpu: true },
  int8: { suffix: '_int8', cpu: true },
  uint8: { suffix: '_uint8', cpu: true },
  q4: { suffix: '_q4', cpu: true },
  bnb4: { suffix: '_bnb4', cpu: true },
  q2: { suffix: '_q2', cpu: true },
  q1: { suffix: '_q1', cpu: false },
  q4f16: { suffix: '_q4f16', cpu: false },
  q2f16: { suffix: '_q2f16', cpu: false },
  q1f16: { suffix: '_q1f16', cpu: false },
} as const;

export type OnnxDtype = keyof typeof ONNX_DTYPES;
export const ONNX_DTYPE_NAMES = Object.keys(ONNX_DTYPES) as OnnxDtype[];

/** Decoder file names with a KV cache that transformers.js loads as a causal LM, preferred first. */
const DECODER_BASES = ['model', 'decoder_model_merged'] as const;

/** One dtype variant of the decoder. */
export interface OnnxVariant {
  /** Relative to the model root, '/'-separated: `onnx/model_q4.onnx`. */
  file: string;
  /** The name without dtype suffix: `model` (transformers.js' model_file_name). */
  base: string;
  dtype: OnnxDtype;
  /** The .onnx file and its external data files. */
  bytes: number;
  /** External data files, relative to the root. */
  dataFiles: string[];
}

/** A listed file: path relative to the model root ('/'-separated) and size. */
export interface ListedFile {
  path: string;
  size: number;
}

/** `onnx/model_q4.onnx` → its base and dtype; null for a file that is no decoder variant. */
export function parseVariantFile(file: string): { base: string; dtype: OnnxDtype } | null {
  const m = /^onnx\/([^/]+)\.onnx$/.exec(file);
  if (!m) return null;
  // The longest matching suffix wins: model_q4f16 is q4f16, not a base "model_q4f16" at fp32.
  const byLength = ONNX_DTYPE_NAMES.filter((d) => ONNX_DTYPES[d].suffix).sort((a, b) => ONNX_DTYPES[b].suffix.length - ONNX_DTYPES[a].suffix.length);
  const dtype = byLength.find((d) => m[1].endsWith(ONNX_DTYPES[d].suffix)) ?? 'fp32';
  const base = m[1].slice(0, m[1].length - ONNX_DTYPES[dtype].suffix.length);
  return (DECODER_BASES as readonly string[]).includes(base) ? { base, dtype } : null;
}

/** The external data files of `file` among `files`: `<file>_data`, `<file>_data_1`, … */
function dataFilesOf(file: string, files: readonly ListedFile[]): ListedFile[] {
  const re = new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_data(_\\d+)?$`);
  return files.filter((f) => re.test(f.path));
}

/** Every decoder variant file among a listing. */
function allVariantsIn(files: readonly ListedFile[]): OnnxVariant[] {
  return files.flatMap((f) => {
    const parsed = parseVariantFile(f.path);
    if (!parsed) return [];
    const data = dataFilesOf(f.path, files);
    return [{ file: f.path, ...parsed, bytes: data.reduce((n, d) => n + d.size, f.size), dataFiles: data.map((d) => d.path) }];
  });
}

/** The decoder variants among a listing, one per dtype (the preferred base name where two exist). */
export function variantsIn(files: readonly ListedFile[]): OnnxVariant[] {
  const byDtype = new Map<OnnxDtype, OnnxVariant>();
  for (const variant of allVariantsIn(files)) {
    const held = byDtype.get(variant.dtype);
    if (!held || DECODER_BASES.indexOf(variant.base as 'model') < DECODER_BASES.indexOf(held.base as 'model')) byDtype.set(variant.dtype, variant);
  }
  return ONNX_DTYPE_NAMES.filter((d) => byDtype.has(d)).map((d) => byDtype.get(d)!);
}

/** The files of a local model directory's onnx/ folder, as a listing. */
function localOnnxFiles(root: string): ListedFile[] {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(root, 'onnx'));
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    // stat follows the hub cache's symlinks to their blobs.
    const st = fs.statSync(path.join(root, 'onnx', n), { throwIfNoEntry: false });
    return st?.isFile() ? [{ path: `onnx/${n}`, size: st.size }] : [];
  });
}

/** The variants present in a local model directory's onnx/ folder. */
export function localVariants(root: string): OnnxVariant[] {
  return variantsIn(localOnnxFiles(root));
}

/** The variant `file` is among a listing (`onnx/decoder_model_merged_q4.onnx` too, beside a model_q4.onnx). */
export function findVariant(files: readonly ListedFile[], file: string): OnnxVariant | undefined {
  return allVariantsIn(files).find((v) => v.file === file);
}

/** The variant a local file is. */
export function localVariant(root: string, file: string): OnnxVariant | undefined {
  return findVariant(localOnnxFiles(root), file);
}

/**
 * The variant for `dtype`; `auto` takes the smallest (in bytes) of those that run on the CPU.
 * `where` names the model in errors.
 */
export function chooseVariant(variants: readonly OnnxVariant[], dtype: string, where: string): OnnxVariant {
  const have = variants.map((v) => v.dtype).join(', ') || 'none';
  if (dtype === 'auto') {
    const runnable = variants.filter((v) => ONNX_DTYPES[v.dtype].cpu).sort((a, b) => a.bytes - b.bytes);
    if (!runnable.length) throw new UserError(`${where} has no ONNX variant that runs on the CPU (it has ${have}); pass --dtype to take one anyway`);
    return runnable[0];
  }
  if (!(dtype in ONNX_DTYPES)) throw new UserError(`--dtype ${dtype} is not a transformers.js dtype; choose one of ${ONNX_DTYPE_NAMES.join(', ')}`);
  const found = variants.find((v) => v.dtype === dtype);
  if (!found) throw new UserError(`${where} has no ${dtype} ONNX variant (onnx/model${ONNX_DTYPES[dtype as OnnxDtype].suffix}.onnx); it has ${have}`);
  return found;
}

/** Whether a directory is a transformers.js-layout model and no safetensors checkpoint. */
export function isOnnxLayoutDir(dir: string): boolean {
  return !fs.existsSync(path.join(dir, 'model.safetensors')) && !fs.existsSync(path.join(dir, 'model.safetensors.index.json')) && localVariants(dir).length > 0;
}

/**
 * The model root and variant of a path to a variant file (`<root>/onnx/model_q4.onnx`, its
 * root holding config.json); null for any other path.
 */
export function variantOfFile(file: string): { root: string; variant: string } | null {
  const onnxDir = path.dirname(file);
  if (path.basename(onnxDir) !== 'onnx' || !parseVariantFile(`onnx/${path.basename(file)}`)) return null;
  const root = path.dirname(onnxDir);
  return fs.existsSync(path.join(root, 'config.json')) ? { root, variant: `onnx/${path.basename(file)}` } : null;
}

/**
 * Refuses a model source (as resolveModelSource gives it) that is a transformers.js ONNX model,
 * for the tools that need our weights. `spec` is the model as the user named it.
 */
export function refuseOnnxSource(spec: string, source: string): void {
  const file = variantOfFile(source)?.variant ?? (fs.statSync(source).isDirectory() && isOnnxLayoutDir(source) ? 'onnx/' : null);
  if (!file) return;
  throw new UserError(
    `${spec} is a transformers.js ONNX model (${file}), which only infer/sampler and eval/perplexity run; ` +
    'this tool needs a safetensors checkpoint of a supported architecture (io/exporter --export_format onnx turns one into ONNX, not back)',
  );
}
