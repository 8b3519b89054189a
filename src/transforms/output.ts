/**
 * The last step every transform shares: write the new model directory (config, weights with
 * the head, tokenizer files, smolbox.json provenance) and hand it to the engine, so the next
 * step reads it from memory.
 */
import path from 'node:path';
import type { ToolContext } from '../core/tool.js';
import type { Engine, LoadedModel } from '../engine/engine.js';
import { derivedProvenance, writeCheckpoint, type Provenance } from '../models/checkpoint.js';
import type { RawTensor } from '../models/safetensors.js';
import type { Weights } from '../models/tensor.js';

export interface DerivedModel {
  /** The resolved output_model_path (relative to ctx.cwd or absolute). */
  out: string;
  /** config.json to write (default: the source model's, less any quantization_config). */
  config?: Record<string, unknown>;
  /** Every float parameter of the new model, head included (a tied head has none of its own). */
  weights: Weights;
  /** Integer payloads (quantized weights) stored beside the floats. */
  raw?: Map<string, RawTensor>;
  /** Weights handed to the engine (default `weights`): a quantized model runs dequantized. */
  memoryWeights?: Weights;
  tool: string;
  args: Record<string, unknown>;
  metrics: Record<string, number>;
  dtype?: 'F32' | 'F16';
}

/** config.json of a float model made from `config`: a quantized parent's quantization_config goes. */
export function floatConfig(config: Record<string, unknown>): Record<string, unknown> {
  const { quantization_config: _dropped, ...rest } = config;
  return rest;
}

/** Writes the model directory and adopts it; returns the absolute path and the loaded model. */
export async function writeDerived(ctx: ToolContext, engine: Engine, source: LoadedModel, d: DerivedModel): Promise<{ dir: string; model: LoadedModel }> {
  const dir = path.resolve(ctx.cwd, d.out);
  const config = d.config ?? floatConfig(source.config);
  const provenance: Provenance = derivedProvenance(source.provenance, {
    parent: typeof d.args.model_path === 'string' ? d.args.model_path : source.dir,
    tool: d.tool,
    args: { ...d.args },
    metrics: d.metrics,
  });
  ctx.signal.throwIfAborted();
  // The config as written (its torch_dtype says how the weights are stored) is the one in memory.
  const written = writeCheckpoint(
    dir,
    { config, weights: d.weights, raw: d.raw, generationConfig: source.generationConfig, provenance, dir: source.dir, tokenizerFiles: source.tokenizerFiles },
    { dtype: d.dtype, flag: '--output_model_path' },
  );
  const model = await engine.adopt(dir, { config: written, weights: d.memoryWeights ?? d.weights, raw: d.raw, generationConfig: source.generationConfig, provenance });
  return { dir, model };
}
