/**
 * The transformers.js layout: which onnx/ files are decoder variants of which dtype, their
 * sizes with external data, the default choice (the smallest that runs on the CPU), and the
 * errors for a dtype a model lacks. Listings as the hub gives them and directories as on disk.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chooseVariant, isOnnxLayoutDir, localVariants, parseVariantFile, refuseOnnxSource, variantOfFile, variantsIn } from '../../src/models/onnx-layout.js';
import { variantSpec } from '../../src/models/source.js';

/** A listing like onnx-community's: fp32 with external data, fp16, q8, q4, q4f16, and files that are no decoder variant. */
const HUB_LISTING = [
  { path: 'config.json', size: 700 },
  { path: 'onnx/model.onnx', size: 1_000 },
  { path: 'onnx/model.onnx_data', size: 500_000 },
  { path: 'onnx/model_fp16.onnx', size: 1_000 },
  { path: 'onnx/model_fp16.onnx_data', size: 250_000 },
  { path: 'onnx/model_quantized.onnx', size: 130_000 },
  { path: 'onnx/model_q4.onnx', size: 90_000 },
  { path: 'onnx/model_q4f16.onnx', size: 60_000 },
  { path: 'onnx/encoder_model.onnx', size: 10 },
  { path: 'onnx/decoder_model_merged_q4.onnx', size: 10 },
  { path: 'model.onnx', size: 10 },
];

let tmp: string | undefined;
afterEach(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

describe('transformers.js variants', () => {
  it('reads the dtype off the file name, the longest suffix first; other files are not variants', () => {
    expect(parseVariantFile('onnx/model.onnx')).toEqual({ base: 'model', dtype: 'fp32' });
    expect(parseVariantFile('onnx/model_q4f16.onnx')).toEqual({ base: 'model', dtype: 'q4f16' });
    expect(parseVariantFile('onnx/model_quantized.onnx')).toEqual({ base: 'model', dtype: 'q8' });
    expect(parseVariantFile('onnx/decoder_model_merged_int8.onnx')).toEqual({ base: 'decoder_model_merged', dtype: 'int8' });
    expect(parseVariantFile('onnx/encoder_model.onnx')).toBeNull();
    expect(parseVariantFile('model.onnx')).toBeNull();
    expect(parseVariantFile('onnx/model.onnx_data')).toBeNull();
  });

  it('counts external data in a variant\'s bytes and prefers model*.onnx over decoder_model_merged*.onnx', () => {
    const variants = variantsIn(HUB_LISTING);
    expect(variants.map((v) => [v.file, v.dtype, v.bytes])).toEqual([
      ['onnx/model.onnx', 'fp32', 501_000],
      ['onnx/model_fp16.onnx', 'fp16', 251_000],
      ['onnx/model_quantized.onnx', 'q8', 130_000],
      ['onnx/model_q4.onnx', 'q4', 90_000],
      ['onnx/model_q4f16.onnx', 'q4f16', 60_000],
    ]);
    expect(variants[0].dataFiles).toEqual(['onnx/model.onnx_data']);
  });

  it('auto takes the smallest variant that runs on the CPU (q4 here: q4f16 is smaller but computes in fp16); a named dtype is taken as is', () => {
    const variants = variantsIn(HUB_LISTING);
    expect(chooseVariant(variants, 'auto', 'x').file).toBe('onnx/model_q4.onnx');
    expect(chooseVariant(variants, 'q4f16', 'x').file).toBe('onnx/model_q4f16.onnx');
    expect(chooseVariant(variants, 'fp32', 'x').dataFiles).toEqual(['onnx/model.onnx_data']);
  });

  it('a dtype the model lacks, an unknown dtype, or only fp16 variants: one line naming what there is', () => {
    const variants = variantsIn(HUB_LISTING);
    expect(() => chooseVariant(variants, 'bnb4', 'owner/m')).toThrow('owner/m has no bnb4 ONNX variant (onnx/model_bnb4.onnx); it has fp32, fp16, q8, q4, q4f16');
    expect(() => chooseVariant(variants, 'q3', 'owner/m')).toThrow(/--dtype q3 is not a transformers.js dtype; choose one of fp32, fp16, q8/);
    const halfOnly = variantsIn([{ path: 'onnx/model_fp16.onnx', size: 5 }]);
    expect(() => chooseVariant(halfOnly, 'auto', 'owner/h')).toThrow('owner/h has no ONNX variant that runs on the CPU (it has fp16); pass --dtype to take one anyway');
  });

  it('on disk: a directory with onnx/ variants and no safetensors is ONNX; a variant file names its root', () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-layout-'));
    const root = path.join(tmp, 'm');
    fs.mkdirSync(path.join(root, 'onnx'), { recursive: true });
    fs.writeFileSync(path.join(root, 'config.json'), '{}');
    fs.writeFileSync(path.join(root, 'onnx', 'model.onnx'), Buffer.alloc(40));
    fs.writeFileSync(path.join(root, 'onnx', 'model_q4.onnx'), Buffer.alloc(10));
    expect(localVariants(root).map((v) => [v.dtype, v.bytes])).toEqual([['fp32', 40], ['q4', 10]]);
    expect(isOnnxLayoutDir(root)).toBe(true);
    expect(variantOfFile(path.join(root, 'onnx', 'model_q4.onnx'))).toEqual({ root, variant: 'onnx/model_q4.onnx' });
    expect(variantOfFile(path.join(root, 'config.json'))).toBeNull();
    expect(() => refuseOnnxSource('m', root)).toThrow('m is a transformers.js ONNX model (onnx/)');
    expect(() => refuseOnnxSource('m/onnx/model_q4.onnx', path.join(root, 'onnx', 'model_q4.onnx'))).toThrow(
      'm/onnx/model_q4.onnx is a transformers.js ONNX model (onnx/model_q4.onnx), which only infer/sampler and eval/perplexity run; this tool needs a safetensors checkpoint of a supported architecture (io/exporter --export_format onnx turns one into ONNX, not back)',
    );
    // Safetensors beside onnx/ (many hub repos have both): our checkpoint, as before.
    fs.writeFileSync(path.join(root, 'model.safetensors'), '');
    expect(isOnnxLayoutDir(root)).toBe(false);
    expect(() => refuseOnnxSource('m', root)).not.toThrow();
  });

  it('names a variant below the spec the user gave, once', () => {
    expect(variantSpec('models/tjs/', 'onnx/model_q4.onnx')).toBe('models/tjs/onnx/model_q4.onnx');
    expect(variantSpec('owner/name', 'onnx/model.onnx')).toBe('owner/name/onnx/model.onnx');
    expect(variantSpec('owner/name/onnx/model.onnx', 'onnx/model.onnx')).toBe('owner/name/onnx/model.onnx');
  });
});
