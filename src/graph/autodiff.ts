/**
 * Reverse-mode differentiation of a built Graph: walks the forward nodes backwards and emits,
 * for each one on a path from the parameters to the loss, its vector-Jacobian product as
 * ordinary ONNX nodes (rules in grad-rules.ts) into the same graph. One ORT run then computes
 * forward, loss and every gradient.
 *
 * Contributions to one value from several consumers (a residual stream, tied embeddings used
 * as Gather and as the LM head) are summed with Add as they arrive; since nodes are visited in
 * reverse topological order, a value's gradient is complete before its producer is visited.
 */
import type { Graph, Node, Value } from './builder.js';
import { zeros } from './grad-helpers.js';
import { GRAD_RULES } from './grad-rules.js';
import * as op from './ops.js';

/** What a gradient rule sees: the graph, naming, which values need gradients, and accumulation. */
export interface GradContext {
  readonly g: Graph;
  /** Node-name prefix for this forward node's gradient nodes: `/grad/<forward node name>`. */
  readonly prefix: string;
  /** True for float values on a path from a differentiated value. */
  requiresGrad(v: Value | null | undefined): v is Value;
  /** Adds `grad` (already reduced to v's shape) to v's gradient. */
  accumulate(v: Value, grad: Value): void;
  /** v's gradient so far, if any (a rule may fold it into its own result, then `replace`). */
  pending(v: Value): Value | undefined;
  /** Sets v's gradient so far, replacing what `pending` returned. */
  replace(v: Value, grad: Value): void;
}

/**
 * A vector-Jacobian rule: given the gradients of a node's outputs (null where an output does
 * not reach the loss), accumulate the gradients of its inputs that `requiresGrad`.
 */
export type GradRule = (ctx: GradContext, node: Node, dOutputs: (Value | null)[]) => void;

/**
 * Emits the gradient of the scalar `loss` with respect to each of `wrt` (parameters or inputs)
 * into `g`. Returns the gradient value per differentiated value, in `wrt` order; a value the
 * loss does not depend on gets zeros.
 */
export function backward(g: Graph, loss: Value, wrt: Value[]): Map<Value, Value> {
  if (loss.shape.length !== 0 && !loss.shape.every((d) => d === 1)) {
    throw new Error(`backward needs a scalar loss, got shape [${loss.shape}]`);
  }
  const forward = g.nodes.slice();
  const needs = new Set<Value>(wrt);
  for (const node of forward) {
    if (node.inputs.some((v) => v !== null && needs.has(v))) {
      for (const out of node.outputs) if (out.dtype === 'float32' || out.dtype === 'float16') needs.add(out);
    }
  }
  if (!needs.has(loss)) throw new Error('the loss does not depend on any differentiated value');

  const grads = new Map<Value, Value>();
  let adds = 0;
  const base = {
    g,
    requiresGrad: (v: Value | null | undefined): v is Value => !!v && needs.has(v),
    pending: (v: Value) => grads.get(v),
    replace: (v: Value, grad: Value) => void grads.set(v, grad),
    accumulate(v: Value, grad: Value) {
      if (!needs.has(v)) return;
      checkShape(v, grad);
      const prev = grads.get(v);
      grads.set(v, prev ? op.add(g, `/grad/accumulate/Add_${adds++}`, prev, grad) : grad);
    },
  };
  grads.set(loss, g.constant('float32', loss.shape as number[], Float32Array.of(1), '/grad/loss_seed'));

  for (let i = forward.length - 1; i >= 0; i--) {
    const node = forward[i];
    const dOutputs = node.outputs.map((o) => grads.get(o) ?? null);
    if (dOutputs.every((d) => d === null)) continue;
    if (!node.inputs.some((v) => base.requiresGrad(v))) continue;
    const rule = GRAD_RULES[node.opType];
    if (!rule) throw new Error(`no gradient rule for ${node.opType} (${node.name})`);
    rule({ ...base, prefix: `/grad${node.name}` }, node, dOutputs);
  }

  const result = new Map<Value, Value>();
  for (const v of wrt) {
    result.set(v, grads.get(v) ?? zeros(g, `/grad/zeros/${v.name}`, v));
  }
  return result;
}

function checkShape(v: Value, grad: Value): void {
  const same = v.shape.length === grad.shape.length && v.shape.every((d, i) => d === grad.shape[i] || typeof d !== 'number' || typeof grad.shape[i] !== 'number');
  if (!same) throw new Error(`gradient of ${v.name} has shape [${grad.shape}], expected [${v.shape}]`);
}
