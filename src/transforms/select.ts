/**
 * Which parameters a transform acts on, by the layer kinds the seed's flags name. Names are
 * the Hugging Face ones, so the groups are read off the names and shapes:
 *
 *   linear     the 2-D projection matrices inside the blocks (q/k/v/o, MLP; GPT-2's Conv1D
 *              c_attn/c_proj/c_fc) — never embeddings, norms, biases or a separate lm_head
 *   conv       GPT-2's Conv1D projections only (the seed's name for them)
 *   embedding  token (and GPT-2's position) embeddings
 *   all        every weight matrix: the above plus lm_head
 */
import { UserError } from '../core/tool.js';
import type { ParamSpec } from '../models/architecture.js';

export type LayerGroup = 'linear' | 'conv' | 'embedding' | 'all';

const EMBEDDING = /(^|\.)(wte|wpe|embed_tokens)\.weight$/;
const CONV1D = /^transformer\.h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
const HEAD = /^lm_head\.weight$/;

/** The group a parameter belongs to, or null for norms, biases and other vectors. */
export function groupOf(p: ParamSpec): Exclude<LayerGroup, 'all' | 'conv'> | 'head' | null {
  if (p.shape.length !== 2) return null;
  if (EMBEDDING.test(p.name)) return 'embedding';
  if (HEAD.test(p.name)) return 'head';
  return 'linear';
}

/** Parameters of `params` in `group`, in model order. */
export function selectParameters(params: readonly ParamSpec[], group: LayerGroup): ParamSpec[] {
  return params.filter((p) => {
    const g = groupOf(p);
    if (g === null) return false;
    if (group === 'all') return true;
    if (group === 'conv') return CONV1D.test(p.name);
    return g === group;
  });
}

/** Like `selectParameters`, but a group that selects nothing is the user's error, named by `flag`. */
export function requireParameters(params: readonly ParamSpec[], group: LayerGroup, flag: string, modelType: string): ParamSpec[] {
  const picked = selectParameters(params, group);
  if (picked.length === 0) {
    const hint = group === 'conv' ? ' (conv means GPT-2\'s Conv1D layers); use linear' : '';
    throw new UserError(`${flag} ${group} selects no parameters of this ${modelType} model${hint}`);
  }
  return picked;
}

/** True when a 2-D weight is stored [in, out] (GPT-2 Conv1D) rather than torch Linear's [out, in]. */
export function isInOutLayout(name: string): boolean {
  return CONV1D.test(name);
}
