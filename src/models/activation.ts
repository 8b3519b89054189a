/**
 * Activation names as config.json writes them (transformers' ACT2FN keys), for the families
 * whose MLP is a single GELU: which ONNX Gelu approximation each one is.
 */
import { UserError } from '../core/tool.js';

const GELU: Record<string, 'tanh' | 'none'> = {
  gelu: 'none',
  gelu_new: 'tanh',
  gelu_pytorch_tanh: 'tanh',
  gelu_fast: 'tanh',
};

/** The GELU approximation of `act`; a UserError naming `key` for anything that is not a GELU. */
export function geluApproximation(act: unknown, where: string, key: string): 'tanh' | 'none' {
  const a = GELU[String(act)];
  if (!a) throw new UserError(`${where}: ${key} "${String(act)}" is not supported; use one of ${Object.keys(GELU).join(', ')}`);
  return a;
}
