/**
 * The exporter's formats over a loaded model. hf/safetensors and pt write a Hugging Face
 * directory (pt: pytorch_model.bin, or one .pt/.pth/.bin file when the path names one);
 * onnx writes the transformers.js layout; gguf one llama.cpp file. A quantized model exports
 * its payload to onnx (integer kernels) and gguf (Q8_0/Q4_0); hf and pt get the dequantized floats.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/tool.js';
import type { LoadedModel } from '../engine/engine.js';
import { replaceDir } from '../core/atomic-write.js';
import { tokenEmbedding } from '../models/architecture.js';
import { readCheckpoint, storedDtype, writeCheckpoint, writeOwnerFile } from '../models/checkpoint.js';
import { checkReplaceable } from '../models/owned-dir.js';
import type { Tensor } from '../models/tensor.js';
import type { QuantizedMatrix } from '../transforms/blocks.js';
import { floatConfig } from '../transforms/output.js';
import { quantizedMatrices } from '../transforms/quantize.js';
import { exportGguf } from './gguf.js';
import { modelName } from './model-name.js';
import { writeOnnxModel } from './onnx.js';
import { writeStateDict } from './pt.js';

export type ExportFormat = 'pt' | 'hf' | 'safetensors' | 'onnx' | 'gguf';

export interface ExportResult {
  /** The file or directory written (absolute). */
  path: string;
  /** Files written, relative to `path` for a directory. */
  files: string[];
  bytes: number;
  /** Whether a quantized payload was exported as such (false: dequantized floats). */
  quantized: boolean;
}

/** Refuses a target that is a file or a directory smolbox may not replace (checkReplaceable). */
export function checkDirectoryTarget(dir: string): void {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) {
    throw new UserError(`--export_model_path ${dir} is a file; give a directory path for this format`);
  }
  checkReplaceable(dir, '--export_model_path');
}

export function sizeOf(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.size;
  return fs.readdirSync(p).reduce((n, f) => n + sizeOf(path.join(p, f)), 0);
}

/** config.json, generation_config.json, the tokenizer files and smolbox.json (ownership), copied into `dir`. */
function writeSidecars(dir: string, model: LoadedModel): string[] {
  const files = ['config.json', 'smolbox.json'];
  writeOwnerFile(dir, model.provenance);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(floatConfig(model.config), null, 2) + '\n');
  if (model.generationConfig) {
    fs.writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify(model.generationConfig, null, 2) + '\n');
    files.push('generation_config.json');
  }
  for (const f of model.tokenizerFiles) {
    fs.copyFileSync(path.join(model.dir, f), path.join(dir, f));
    files.push(f);
  }
  return files;
}

/** The tied head as torch's state_dict has it: lm_head.weight sharing the embedding. */
function tiedAliases(model: LoadedModel): Map<string, string> {
  if (!model.cfg.tieWordEmbeddings) return new Map();
  return new Map([['lm_head.weight', tokenEmbedding(model.arch.parameters(model.cfg)).name]]);
}

export function exportModel(model: LoadedModel, format: ExportFormat, target: string): ExportResult {
  const isQuantized = model.config.quantization_config !== undefined;
  const quantized: Map<string, QuantizedMatrix> = isQuantized ? quantizedMatrices(readCheckpoint(model.dir).raw) : new Map();
  const params = model.arch.parameters(model.cfg);
  const ordered = new Map<string, Tensor>(params.map((p) => [p.name, model.weights.get(p.name)!]));
  // A model stored in fp16 (transform/quantizer --precision 16) stays fp16 where the format can say so.
  const half = storedDtype(model.config) === 'float16';

  if (format === 'gguf') {
    const file = target.endsWith('.gguf') ? target : `${target}.gguf`;
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new UserError(`--export_model_path ${file} is a directory; give a file path ending in .gguf`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    exportGguf(file, { dir: model.dir, arch: model.arch, cfg: model.cfg, weights: model.weights, quantized, half, name: modelName(model) }, params);
    return { path: file, files: [path.basename(file)], bytes: sizeOf(file), quantized: quantized.size > 0 };
  }
  if (format === 'pt' && /\.(pt|pth|bin)$/.test(target)) {
    if (fs.existsSync(target) && fs.statSync(target).isDirectory()) throw new UserError(`--export_model_path ${target} is a directory; drop the .pt/.pth/.bin ending to write a model directory`);
    writeStateDict(target, ordered, tiedAliases(model));
    return { path: target, files: [path.basename(target)], bytes: sizeOf(target), quantized: false };
  }
  if (format === 'hf' || format === 'safetensors') {
    writeCheckpoint(target, {
      config: floatConfig(model.config), weights: ordered, generationConfig: model.generationConfig,
      provenance: model.provenance, dir: model.dir, tokenizerFiles: model.tokenizerFiles,
    }, { dtype: half ? 'F16' : 'F32', flag: '--export_model_path' });
    return { path: target, files: fs.readdirSync(target).sort(), bytes: sizeOf(target), quantized: false };
  }
  // pt and onnx directories are built whole beside the target and swapped in, so neither a
  // kill nor a full disk leaves a partial weights file next to a new config.json.
  checkDirectoryTarget(target);
  const files: string[] = [];
  let matMulNBits = 0;
  replaceDir(target, (tmp) => {
    files.push(...writeSidecars(tmp, model));
    if (format === 'pt') {
      writeStateDict(path.join(tmp, 'pytorch_model.bin'), ordered, tiedAliases(model));
      files.push('pytorch_model.bin');
      return;
    }
    const onnx = writeOnnxModel(tmp, { arch: model.arch, cfg: model.cfg, weights: model.weights, quantized });
    files.push(...onnx.files);
    matMulNBits = onnx.matMulNBits;
  });
  return { path: target, files, bytes: sizeOf(target), quantized: matMulNBits > 0 };
}
