/**
 * Which parameters a transform acts on, by the layer kinds the seed's flags name. Each
 * architecture declares its parameters' roles and layouts, so the groups are read off those:
 *
 *   linear     the 2-D projection matrices inside the blocks (attention and MLP, fused or
 *              not) — never embeddings, norms, biases or a separate head
 *   conv       projections stored as Conv1D [in, out] (GPT-2's; the seed's name for them)
 *   embedding  token (and learned position) embeddings
 *   all        every weight matrix: the above plus the head
 */
import { UserError } from '../core/tool.js';
import type { ParamSpec } from '../models/architecture.js';

export type LayerGroup = 'linear' | 'conv' | 'embedding' | 'all';

/** The group a parameter belongs to, or null for norms, biases and other vectors. */
export function groupOf(p: ParamSpec): Exclude<LayerGroup, 'all' | 'conv'> | 'head' | null {
  if (p.shape.length !== 2) return null;
  switch (p.role) {
    case 'token_embedding':
    case 'position_embedding':
      return 'embedding';
    case 'head':
      return 'head';
    case 'attention':
    case 'mlp':
      return 'linear';
    default:
      return null;
  }
}

/** Parameters of `params` in `group`, in model order. */
export function selectParameters(params: readonly ParamSpec[], group: LayerGroup): ParamSpec[] {
  return params.filter((p) => {
    const g = groupOf(p);
    if (g === null) return false;
    if (group === 'all') return true;
    if (group === 'conv') return g === 'linear' && p.layout === 'in_out';
    return g === group;
  });
}

/** Like `selectParameters`, but a group that selects nothing is the user's error, named by `flag`. */
export function requireParameters(params: readonly ParamSpec[], group: LayerGroup, flag: string, modelType: string): ParamSpec[] {
  const picked = selectParameters(params, group);
  if (picked.length === 0) {
    const hint = group === 'conv' ? ' (conv means Conv1D layers, stored [in, out], as GPT-2 has); use linear' : '';
    throw new UserError(`${flag} ${group} selects no parameters of this ${modelType} model${hint}`);
  }
  return picked;
}
