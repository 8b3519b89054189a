/**
 * The tweaker's temporary deltas: "name=value,…" adds value to every parameter whose name
 * matches (an exact name, or a regular expression matched against the whole name). The result
 * shares every untouched tensor with the original and copies only the changed ones, so the
 * model in memory is never modified.
 */
import { UserError } from '../core/tool.js';
import { matchNames, wholeNameRegex } from '../core/user-regex.js';
import type { Weights } from './tensor.js';

export interface Delta {
  pattern: string;
  value: number;
}

/** Parses "a=0.1,h\\.0\\..*=-1"; an empty string means no deltas. */
export function parseDeltas(text: string): Delta[] {
  const out: Delta[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.lastIndexOf('=');
    if (eq <= 0) throw new UserError(`--deltas: "${part}" is not name=value (e.g. transformer.h.0.mlp.c_fc.bias=0.1)`);
    const pattern = part.slice(0, eq).trim();
    const value = Number(part.slice(eq + 1).trim());
    if (part.slice(eq + 1).trim() === '' || !Number.isFinite(value)) {
      throw new UserError(`--deltas: the value in "${part}" is not a number`);
    }
    out.push({ pattern, value });
  }
  return out;
}

function matcher(pattern: string): RegExp {
  try {
    return wholeNameRegex(pattern, '--deltas');
  } catch {
    throw new UserError(`--deltas: "${pattern}" is neither a parameter name nor a valid regular expression`);
  }
}

/** The weights with the deltas added, and how many parameters each delta touched. */
export function applyDeltas(weights: Weights, deltas: Delta[]): { weights: Weights; touched: Map<string, string[]> } {
  const out: Weights = new Map(weights);
  const touched = new Map<string, string[]>();
  for (const { pattern, value } of deltas) {
    const re = weights.has(pattern) ? null : matcher(pattern);
    const names = re ? matchNames(re, [...weights.keys()], '--deltas', pattern) : [pattern];
    if (names.length === 0) {
      const hint = [...weights.keys()].find((n) => n.includes(pattern.replace(/[^\w.]/g, ''))) ?? [...weights.keys()][0];
      throw new UserError(`--deltas: no parameter matches "${pattern}" (e.g. ${hint}; see \`smox infer/tweaker list\`)`);
    }
    for (const name of names) {
      const t = out.get(name)!;
      const data = new Float32Array(t.data);
      for (let i = 0; i < data.length; i++) data[i] += value;
      out.set(name, { shape: t.shape, data });
    }
    touched.set(pattern, names);
  }
  return { weights: out, touched };
}
