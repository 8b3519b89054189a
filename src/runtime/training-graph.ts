/**
 * The training graph: an architecture's forward without a KV cache, at a static batch
 * B × T, then mean token cross-entropy and (for training) every parameter's gradient.
 *
 *   inputs   input_ids int64 [B, T], targets int64 [B·T] (−100 = ignored), the parameters
 *   outputs  loss float32 [], grad.<param name> float32 [param shape] (training only)
 *
 * Positions are 0..T−1 and the attention bias is causal (packed blocks carry no padding), both
 * constants; the forward's empty KV-cache Concats are removed so no copy of K/V is left, and
 * RMSNorm and RoPE become one kernel each (graph/fusions.ts) before autodiff sees them.
 */
import { backward } from '../graph/autodiff.js';
import { attr, Graph, type Value } from '../graph/builder.js';
import { countedRows } from '../graph/grad-helpers.js';
import { dropUnreadConstants, fuseForTraining } from '../graph/fusions.js';
import * as op from '../graph/ops.js';
import type { Architecture, DecoderConfig } from '../models/architecture.js';

/** Targets with this id add nothing to the loss (padding rows of a short eval batch). */
export const IGNORE_INDEX = -100;

export interface TrainingGraphOptions {
  batchSize: number;
  seqLength: number;
  /** Emit parameter gradients (training) or only the loss (evaluation). */
  gradients: boolean;
}

export interface TrainingGraph {
  graph: Graph;
  /** Number of nodes of the forward pass and loss (the rest is backward). */
  forwardNodes: number;
}

/** [1, 1, T, T]: 0 on and below the diagonal, −1e9 above (future positions). */
function causalBias(g: Graph, T: number): Value {
  const data = new Float32Array(T * T);
  for (let i = 0; i < T; i++) data.fill(-1e9, i * T + i + 1, (i + 1) * T);
  return g.constant('float32', [1, 1, T, T], data, '/model/attn_mask/causal');
}

/** Drops Concats with an empty cache input, rewiring their consumers to the non-empty input. */
function dropEmptyConcats(g: Graph): void {
  const empty = (v: Value | null) => v !== null && v.kind === 'constant' && v.shape.includes(0);
  const replaced = new Map<Value, Value>();
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (n.opType !== 'Concat' || !n.inputs.some(empty)) continue;
    const rest = n.inputs.filter((v) => !empty(v));
    if (rest.length !== 1) continue;
    replaced.set(n.outputs[0], rest[0]!);
    g.nodes.splice(i, 1);
  }
  for (const n of g.nodes) n.inputs = n.inputs.map((v) => (v && replaced.get(v)) ?? v);
  for (const [key, c] of g.constants) if (c.value.shape.includes(0)) g.constants.delete(key);
}

export function buildTrainingGraph<C extends DecoderConfig>(arch: Architecture<C>, cfg: C, options: TrainingGraphOptions): TrainingGraph {
  const { batchSize: B, seqLength: T } = options;
  const g = new Graph();
  const inputIds = g.input('input_ids', 'int64', [B, T]);
  const targets = g.input('targets', 'int64', [B * T]);
  const positionIds = g.constant('int64', [1, T], BigInt64Array.from({ length: T }, (_, i) => BigInt(i)), '/model/position_ids');
  // Read by no forward today (the bias below encodes it); a [1, T] row of ones keeps it cheap.
  const attentionMask = g.constant('int64', [1, T], new BigInt64Array(T).fill(1n), '/model/attention_mask');
  const noCache = g.constant('float32', [B, cfg.numKvHeads, 0, cfg.headDim], new Float32Array(0), '/model/empty_cache');
  const past = Array.from({ length: cfg.numLayers }, () => ({ key: noCache, value: noCache }));
  const out = arch.forward(g, cfg, { inputIds, attentionMask, positionIds, attentionBias: causalBias(g, T), past }, { logits: 'all' });
  dropEmptyConcats(g);
  if (!g.nodes.some((n) => n.inputs.includes(attentionMask))) g.constants.delete(attentionMask.name);

  const scores = op.reshape(g, '/loss/Reshape', out.logits, [B * T, cfg.vocabSize]);
  const [loss] = g.node('SoftmaxCrossEntropyLoss', '/loss/SoftmaxCrossEntropyLoss', [scores, targets], [{ dtype: 'float32', shape: [] }], {
    reduction: attr.string('mean'),
    ignore_index: attr.int(IGNORE_INDEX),
  });
  g.output(loss, 'loss');
  fuseForTraining(g);
  let forwardNodes = g.nodes.length;
  if (options.gradients) {
    const params = [...g.params.values()];
    const grads = backward(g, loss, params);
    for (const p of params) g.output(grads.get(p)!, `grad.${p.name}`);
  }
  forwardNodes += lowerCrossEntropy(g) - 1;
  dropUnreadConstants(g);
  return { graph: g, forwardNodes };
}

/**
 * Replaces the SoftmaxCrossEntropyLoss node by what it means, in place: ORT has no kernel for
 * it in an inference build and expands its ONNX function, which reshapes the scores to
 * [N, V, 1] and runs LogSoftmax on axis 1 — not the last axis, so through transposes of the
 * whole [N, V] tensor (a tenth of a GPT-2 step). Here LogSoftmax runs on the last axis of
 * [N, V]; its output is the log-probability the gradient rule reads; the loss is the mean of
 * −logprob at the labels over the rows not ignored. Returns the number of nodes put in its place.
 */
function lowerCrossEntropy(g: Graph): number {
  const at = g.nodes.findIndex((n) => n.opType === 'SoftmaxCrossEntropyLoss');
  const sce = g.nodes[at];
  const [scores, labels] = sce.inputs as Value[];
  const [loss, logProbOut] = sce.outputs;
  const first = g.nodes.length;
  const P = '/loss/lowered';
  const [logProb] = g.node('LogSoftmax', `${P}/LogSoftmax`, [scores], [{ dtype: 'float32', shape: scores.shape }], { axis: attr.int(1) });
  if (logProbOut) {
    // The gradient already reads this value: the new node produces it.
    logProbOut.producer = logProb.producer;
    logProb.producer!.outputs[0] = logProbOut;
  }
  const lp = logProbOut ?? logProb;
  const { safe, valid, count } = countedRows(g, P, labels, IGNORE_INDEX);
  const [picked] = g.node('GatherElements', `${P}/GatherElements`, [lp, op.unsqueeze(g, `${P}/labels/Unsqueeze`, safe, [1])], [{ dtype: 'float32', shape: [scores.shape[0], 1] }], { axis: attr.int(1) });
  const rows = op.reshape(g, `${P}/picked/Reshape`, picked, [-1], [scores.shape[0]]);
  const total = op.reduceSum(g, `${P}/nll/ReduceSum`, op.mul(g, `${P}/nll/Mul`, rows, valid), [0], false);
  const [mean] = g.node('Div', `${P}/Div`, [op.neg(g, `${P}/Neg`, total), count], [{ dtype: 'float32', shape: [] }]);
  // The loss value (already a graph output) is produced by the last new node.
  loss.producer = mean.producer;
  mean.producer!.outputs[0] = loss;
  const added = g.nodes.splice(first);
  g.nodes.splice(at, 1, ...added);
  return added.length;
}
