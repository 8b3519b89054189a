/**
 * The editor's parameter resets: the parameters whose names fully match a regex become
 * zero, a fresh draw from the architecture's own initialisation, or a function of their old
 * values.
 */
import { Random } from '../core/random.js';
import { UserError } from '../core/tool.js';
import { matchNames, wholeNameRegex } from '../core/user-regex.js';
import type { Architecture, DecoderConfig, ParamSpec } from '../models/architecture.js';
import type { Weights } from '../models/tensor.js';
import type { ElementFn } from './expression.js';

export type Reset = { kind: 'zero' } | { kind: 'random'; seed: number } | { kind: 'expression'; fn: ElementFn };

/** Parameters whose whole name matches `pattern`; an invalid regex or no match is a UserError. */
export function matchParameters(params: readonly ParamSpec[], pattern: string, flag = '--param_pattern'): ParamSpec[] {
  const re = wholeNameRegex(pattern, flag);
  const names = new Set(matchNames(re, params.map((p) => p.name), flag, pattern));
  const picked = params.filter((p) => names.has(p.name));
  if (picked.length === 0) {
    throw new UserError(`${flag} "${pattern}" matches no parameter (it must match whole names, e.g. "${params[0]?.name ?? 'x'}"); list them with infer/tweaker list`);
  }
  return picked;
}

/** Applies `reset` to `targets`; returns new weights (changed tensors copied, the rest shared). */
export function resetParameters<C extends DecoderConfig>(
  arch: Architecture<C>,
  cfg: C,
  weights: Weights,
  targets: readonly ParamSpec[],
  reset: Reset,
): Weights {
  const out: Weights = new Map(weights);
  // The architecture's init draws every parameter in order, so a parameter's fresh values
  // are the same whichever others are reset alongside it.
  const fresh = reset.kind === 'random' ? arch.init(cfg, new Random(reset.seed)) : null;
  for (const p of targets) {
    const old = weights.get(p.name)!;
    let data: Float32Array;
    if (reset.kind === 'zero') data = new Float32Array(old.data.length);
    else if (fresh) data = fresh.get(p.name)!.data;
    else {
      const fn = (reset as { fn: ElementFn }).fn;
      data = new Float32Array(old.data.length);
      for (let i = 0; i < data.length; i++) data[i] = fn(old.data[i]);
      const bad = data.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new UserError(`--param_expression gives ${data[bad]} for ${p.name} (old value ${old.data[bad]}); guard it, e.g. with abs() or max()`);
    }
    out.set(p.name, { shape: old.shape, data });
  }
  return out;
}
