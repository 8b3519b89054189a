/**
 * The MLP activations of the LayerNorm families (gpt2, gpt_neo, opt, gpt_neox, phi…), by
 * transformers' ACT2FN names:
 * one reader for config.json, one emitter for the graph and one function for the reference.
 */
import { UserError } from '../core/tool.js';
import type { Graph, Value } from '../graph/builder.js';
import * as op from '../graph/ops.js';
import { geluExact, geluTanh } from './reference.js';

/** 'gelu_tanh': GPT-2's gelu_new (tanh approximation); 'gelu': exact erf GELU; 'relu': max(x, 0). */
export type Activation = 'gelu_tanh' | 'gelu' | 'relu';

const ACTIVATIONS: Record<string, Activation> = {
  gelu_new: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  gelu_fast: 'gelu_tanh',
  gelu: 'gelu',
  relu: 'relu',
};

/** config.json's `key` (default `fallback`) as an Activation; a UserError names an unsupported one. */
export function readActivation(raw: Record<string, unknown>, key: string, fallback: string, where: string): Activation {
  const name = String(raw[key] ?? fallback);
  const act = ACTIVATIONS[name];
  if (!act) throw new UserError(`${where}: ${key} "${name}" is not supported; use one of ${Object.keys(ACTIVATIONS).join(', ')}`);
  return act;
}

/** Emits the activation as one node (Gelu-20 or Relu), named `${prefix}/Gelu|Relu`. */
export function activate(g: Graph, prefix: string, x: Value, act: Activation): Value {
  if (act === 'relu') return op.relu(g, `${prefix}/Relu`, x);
  return op.gelu(g, `${prefix}/Gelu`, x, act === 'gelu_tanh' ? 'tanh' : 'none');
}

/** The same activation for the plain-TypeScript reference. */
export function activationFn(act: Activation): (x: number) => number {
  if (act === 'relu') return (x) => Math.max(x, 0);
  return act === 'gelu_tanh' ? geluTanh : geluExact;
}

const GELUS = Object.keys(ACTIVATIONS).filter((k) => ACTIVATIONS[k] !== 'relu');

/** For the families whose MLP is a GELU: the Gelu-20 approximation of `act`; a UserError naming `key` otherwise. */
export function geluApproximation(act: unknown, where: string, key: string): 'tanh' | 'none' {
  const a = ACTIVATIONS[String(act)];
  if (!a || a === 'relu') throw new UserError(`${where}: ${key} "${String(act)}" is not supported; use one of ${GELUS.join(', ')}`);
  return a === 'gelu_tanh' ? 'tanh' : 'none';
}
