/**
 * What transform/quantizer quantizes, and to how many bits, from the seed's layer type names
 * (torch module classes):
 *
 *   Linear     the projections inside the blocks (GPT-2's Conv1D included), and the head —
 *              torch's lm_head is an nn.Linear too                    --precision; head: --head_precision
 *   Conv1D     GPT-2's Conv1D projections only                       --precision
 *   Embedding  token and learned position embeddings                 --precision
 *
 * A tied head is the token embedding: one tensor, read as rows and as the head (one payload
 * in export/quantized-ops.ts), so wherever it is selected it takes the head's bits. The head is the
 * largest matrix of a small model and the most sensitive to rounding: llama.cpp keeps it at
 * 6 bits when the rest is 4 (Q6_K; a tied token_embd counts as the head), hence 8 by default.
 */
import type { DecoderConfig, ParamSpec } from '../models/architecture.js';
import { tokenEmbedding } from '../models/architecture.js';
import type { Bits } from './blocks.js';
import type { QuantTarget } from './quantize.js';
import { groupOf, requireParameters } from './select.js';

/** The seed's torch module class names. */
export type LayerType = 'Linear' | 'Conv1D' | 'Embedding';

const GROUPS = { Linear: 'linear', Conv1D: 'conv', Embedding: 'embedding' } as const;

/** The head's parameter: lm_head, or the token embedding when tied. */
export function headParameter(params: readonly ParamSpec[], cfg: DecoderConfig): ParamSpec {
  if (cfg.tieWordEmbeddings) return tokenEmbedding(params);
  const head = params.find((p) => groupOf(p) === 'head');
  if (!head) throw new Error(`${cfg.modelType} declares no head parameter`);
  return head;
}

/** The weights `layerTypes` select, in model order, each with its bits; `headBits` null keeps the head float. */
export function quantizationTargets(
  params: readonly ParamSpec[],
  cfg: DecoderConfig,
  layerTypes: readonly LayerType[],
  bits: Bits,
  headBits: Bits | null,
): QuantTarget[] {
  const head = headParameter(params, cfg);
  const picked = new Set<string>();
  for (const type of layerTypes) {
    for (const p of requireParameters(params, GROUPS[type], `--layer_types ${type}:`, cfg.modelType)) picked.add(p.name);
    if (type === 'Linear') picked.add(head.name);
  }
  return params
    .filter((p) => picked.has(p.name) && (p.name !== head.name || headBits !== null))
    .map((spec) => ({ spec, bits: spec.name === head.name ? headBits! : bits }));
}
