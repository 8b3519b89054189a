/**
 * A model in the transformers.js layout: config.json, generation_config.json, tokenizer
 * files and onnx/model.onnx — the decoder graph the session runs (logits for every
 * position, KV cache inputs/outputs), weights baked in. Quantized weights run through
 * ORT's integer kernels (quantized-ops.ts). Past `externalAbove` bytes of weights (ONNX caps a ModelProto at 2 GB) the
 * tensors go to onnx/model.onnx_data beside it, as transformers.js expects.
 */
import fs from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { toModelProto } from '../graph/onnx-writer.js';
import { buildDecoderGraph, type Architecture, type DecoderConfig } from '../models/architecture.js';
import type { Weights } from '../models/tensor.js';
import type { QuantizedMatrix } from '../transforms/blocks.js';
import { useQuantizedOps } from './quantized-ops.js';
import { writeAll } from '../core/atomic-write.js';

const { onnx } = onnxProto;

export interface OnnxExportSource {
  arch: Architecture<DecoderConfig>;
  cfg: DecoderConfig;
  weights: Weights;
  quantized: ReadonlyMap<string, QuantizedMatrix>;
}

export interface OnnxExportOptions {
  /** Move initializers to model.onnx_data when the weights exceed this many bytes (default 1.8 GB). */
  externalAbove?: number;
}

/** The ONNX bytes (and external data, if any) of a decoder graph with logits for every position. */
export function decoderOnnx(src: OnnxExportSource, opts: OnnxExportOptions = {}): { model: Uint8Array; external: Buffer[] | null; matMulNBits: number } {
  const g = buildDecoderGraph(src.arch, src.cfg, { logits: 'all' });
  const rewritten = useQuantizedOps(g, src.quantized);
  const proto = toModelProto(g, { weights: src.weights, graphName: `smolbox ${src.cfg.modelType}` });
  const initializers = proto.graph!.initializer!;
  const total = initializers.reduce((n, t) => n + (t.rawData?.byteLength ?? 0), 0);
  let external: Buffer[] | null = null;
  if (total > (opts.externalAbove ?? 1.8e9)) {
    external = [];
    let offset = 0;
    for (const t of initializers) {
      const raw = t.rawData as Uint8Array | undefined;
      if (!raw || raw.byteLength < 1024) continue;
      external.push(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.externalData = [
        { key: 'location', value: 'model.onnx_data' },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(raw.byteLength) },
      ];
      t.rawData = new Uint8Array(0);
      offset += raw.byteLength;
    }
  }
  return { model: onnx.ModelProto.encode(proto).finish(), external, matMulNBits: rewritten.length };
}

/**
 * Writes onnx/model.onnx (+ model.onnx_data) under `dir`; returns the files written (relative).
 * Plain writes: the exporter builds `dir` as a temp directory and swaps it in whole (replaceDir).
 */
export function writeOnnxModel(dir: string, src: OnnxExportSource, opts: OnnxExportOptions = {}): { files: string[]; matMulNBits: number } {
  const { model, external, matMulNBits } = decoderOnnx(src, opts);
  const onnxDir = path.join(dir, 'onnx');
  fs.mkdirSync(onnxDir, { recursive: true });
  fs.writeFileSync(path.join(onnxDir, 'model.onnx'), model);
  const files = ['onnx/model.onnx'];
  if (external) {
    const fd = fs.openSync(path.join(onnxDir, 'model.onnx_data'), 'w');
    try {
      for (const chunk of external) writeAll(fd, chunk);
    } finally {
      fs.closeSync(fd);
    }
    files.push('onnx/model.onnx_data');
  }
  return { files, matMulNBits };
}
