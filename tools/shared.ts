/**
 * Pieces the built-in tools share. This file sits directly in tools/, not in a category
 * folder, so the registry does not take it for a tool.
 */
import { type ArgSpec, arg, type ToolContext, UserError } from '../src/core/tool.js';
import type { Engine } from '../src/engine/engine.js';

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
export function notAvailableYet(tool: string): UserError {
  return new UserError(`${tool}: not available yet in this version of smolbox`);
}

/**
 * The engine services: the workbench's long-lived engine when the tool runs there, else one
 * per process. Imported on first use, so listing tools never loads onnxruntime.
 */
export async function engineOf(ctx: ToolContext): Promise<Engine> {
  const { Engine } = await import('../src/engine/engine.js');
  if (ctx.engine instanceof Engine) return ctx.engine;
  const threads = typeof ctx.config.threads === 'number' ? ctx.config.threads : undefined;
  processEngine ??= new Engine({ threads });
  return processEngine;
}

let processEngine: Engine | undefined;

/** 124439808 → "124.4M". */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}
