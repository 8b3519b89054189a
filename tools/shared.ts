/**
 * Pieces the built-in tools share. This file sits directly in tools/, not in a category
 * folder, so the registry does not take it for a tool.
 */
import { type ArgSpec, arg, UserError } from '../src/core/tool.js';

/**
 * The seed's `device` argument. Only the CPU is real here: onnxruntime-node runs the graphs
 * on MLAS. `cuda` parses so that a seed command line gets a clear answer rather than a
 * choice error.
 */
export const deviceArg = (): ArgSpec<'auto' | 'cpu' | 'cuda'> =>
  arg.choice(['auto', 'cpu', 'cuda'] as const, 'auto', 'compute device; smolbox computes on CPU (auto = cpu)');

/** Refuses `--device cuda` with the reason, before the tool does any work. */
export function requireCpu(device: string): void {
  if (device === 'cuda') {
    throw new UserError('--device cuda is not supported: smolbox computes on CPU through onnxruntime; use --device cpu (or auto)');
  }
}

/** The error a tool whose engine has not landed yet raises when run. */
export function notAvailableYet(tool: string, issue: number): UserError {
  const what = issue === 4 ? 'the training engine' : 'the model engine';
  return new UserError(`${tool}: not available yet — ${what} lands with issue #${issue}`);
}
