/**
 * io/exporter --export_format onnx on a model that is ONNX already (transformers.js layout):
 * the variant in use is copied as it is — config, generation config, tokenizer files and
 * onnx/<variant> with its external data — into a directory transformers.js loads with that
 * dtype. Built beside the target and swapped in whole, like every export directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { replaceDir } from '../core/atomic-write.js';
import { readCheckpointInfo, TOKENIZER_FILES, writeOwnerFile } from '../models/checkpoint.js';
import type { OnnxVariant } from '../models/onnx-layout.js';
import { checkDirectoryTarget, sizeOf, type ExportResult } from './export.js';

export function copyOnnxModel(dir: string, variant: OnnxVariant, target: string): ExportResult {
  checkDirectoryTarget(target);
  const files: string[] = [];
  replaceDir(target, (tmp) => {
    // Its provenance goes along, as with any export of ours; the marker makes the copy smolbox's.
    writeOwnerFile(tmp, readCheckpointInfo(dir).provenance);
    files.push('smolbox.json');
    const sidecars = ['config.json', 'generation_config.json', ...TOKENIZER_FILES].filter((f) => fs.existsSync(path.join(dir, f)));
    fs.mkdirSync(path.join(tmp, 'onnx'));
    for (const f of [...sidecars, variant.file, ...variant.dataFiles]) {
      // Hub snapshots hold symlinks into the cache's blobs: copyFile follows them.
      fs.copyFileSync(path.join(dir, f), path.join(tmp, f));
      files.push(f);
    }
  });
  return { path: target, files, bytes: sizeOf(target), quantized: variant.dtype !== 'fp32' && variant.dtype !== 'fp16' };
}
