/**
 * Static shape rules for the ops in ops.ts. Dims are numbers where known and names where
 * not; a rule that cannot know a symbolic result makes up a descriptive name (`batch*seq`)
 * rather than guessing a number, so shapes never lie.
 */
import type { Dim } from './builder.js';

/** numpy-style broadcasting of two shapes. */
export function broadcast(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else if (typeof da === 'number' && typeof db === 'number') {
      throw new Error(`cannot broadcast [${a}] with [${b}]`);
    } else out.push(typeof da === 'string' ? db : da); // a symbol meets a size: the size wins
  }
  return out;
}

/** MatMul: [..., M, K] @ [..., K, N] → [...broadcast, M, N]. */
export function matMulShape(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  if (a.length < 2 || b.length < 2) throw new Error(`MatMul needs rank ≥ 2, got [${a}] and [${b}]`);
  const k1 = a[a.length - 1];
  const k2 = b[b.length - 2];
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) {
    throw new Error(`MatMul inner dims differ: [${a}] @ [${b}]`);
  }
  const batch = broadcast(a.slice(0, -2), b.slice(0, -2));
  return [...batch, a[a.length - 2], b[b.length - 1]];
}

function product(dims: readonly Dim[]): Dim {
  if (dims.every((d) => typeof d === 'number')) return (dims as number[]).reduce((x, y) => x * y, 1);
  return dims.filter((d) => d !== 1).join('*');
}

/** Reshape with ONNX's 0 (copy the input dim) and −1 (infer) conventions. */
export function reshapeShape(input: readonly Dim[], target: readonly number[]): Dim[] {
  const out: Dim[] = target.map((t, i) => (t === 0 ? input[i] : t));
  const inferAt = target.indexOf(-1);
  if (inferAt >= 0) {
    const known = out.filter((_, i) => i !== inferAt);
    const total = product(input);
    const rest = product(known);
    if (typeof total === 'number' && typeof rest === 'number') out[inferAt] = total / rest;
    else out[inferAt] = inferSymbolic(input, known);
  }
  return out;
}

/** Cancels the dims shared by input and known output dims; what is left names the result. */
function inferSymbolic(input: readonly Dim[], known: readonly Dim[]): Dim {
  const left = [...input];
  let divisor = 1;
  for (const d of known) {
    const at = left.indexOf(d);
    if (at >= 0) left.splice(at, 1);
    else if (typeof d === 'number') divisor *= d;
    else return `(${input.join('*')})/(${known.join('*')})`;
  }
  const nums = left.filter((d): d is number => typeof d === 'number').reduce((x, y) => x * y, 1);
  const syms = left.filter((d) => typeof d === 'string');
  if (nums % divisor !== 0) return `(${input.join('*')})/(${known.join('*')})`;
  const n = nums / divisor;
  if (syms.length === 0) return n;
  return [...(n === 1 ? [] : [n]), ...syms].join('*');
}

export function transposeShape(input: readonly Dim[], perm: readonly number[]): Dim[] {
  return perm.map((p) => input[p]);
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Slice one dimension with static starts/ends (ONNX clamping rules, step 1 or −1). */
export function sliceDim(dim: Dim, start: number, end: number, step: number): Dim {
  if (typeof dim === 'number') {
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    const s = start < 0 ? start + dim : start;
    const e = end < 0 ? end + dim : end;
    if (step > 0) return Math.max(0, clamp(e, 0, dim) - clamp(s, 0, dim));
    return Math.max(0, clamp(s, -1, dim - 1) - clamp(e, -1, dim - 1));
  }
  // Symbolic: the common "last n" (start −n, end past the end) is exactly n.
  if (step === 1 && start < 0 && end >= 2 ** 31 - 1) return -start;
  return `${dim}[${start}:${end}]`;
}
