import { arg, defineTool } from '../../src/core/tool.js';
import { engineOf } from '../shared.js';

export default defineTool({
  summary: 'Zero the smallest-magnitude weights (L1 unstructured)',
  description:
    'Per tensor, like torch\'s l1_unstructured: linear = the projection matrices in the blocks;\n' +
    'conv means GPT-2\'s Conv1D projections (as the seed named them); all = every weight matrix.\n' +
    'Norms and biases are never pruned. The whole model is written, head included.',
  args: {
    model_path: arg.modelIn(),
    output_model_path: arg.modelOut(),
    pruning_percentage: arg.number(0.2, 'fraction of weights to zero', { min: 0, max: 1 }),
    layer_type: arg.choice(['linear', 'conv', 'embedding', 'all'] as const, 'linear', 'which layers to prune'),
  },
  async run(ctx, args) {
    const engine = await engineOf(ctx);
    const model = await engine.model(args.model_path, { cwd: ctx.cwd, signal: ctx.signal, emit: ctx.emit });
    const { requireParameters } = await import('../../src/transforms/select.js');
    const { pruneWeights } = await import('../../src/transforms/prune.js');
    const { writeDerived } = await import('../../src/transforms/output.js');
    const targets = requireParameters(model.arch.parameters(model.cfg), args.layer_type, '--layer_type', model.cfg.modelType);
    const pruned = pruneWeights(model.weights, targets, args.pruning_percentage, ctx.signal);
    const metrics = { sparsity: pruned.sparsity, pruned_weights: pruned.zeroed, pruned_tensors: targets.length };
    const { dir } = await writeDerived(ctx, engine, model, {
      out: args.output_model_path, weights: pruned.weights, tool: 'transform/pruner', args, metrics,
    });
    return {
      metrics,
      message: `pruned ${targets.length} ${args.layer_type} tensors to ${(100 * pruned.sparsity).toFixed(1)}% sparsity (${pruned.zeroed} weights zeroed) → ${dir}`,
      data: { path: dir, sparsity: pruned.sparsity, tensors: targets.map((p) => p.name) },
    };
  },
});
