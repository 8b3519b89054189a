import { arg, defineTool } from '../../src/core/tool.js';
import { notAvailableYet } from '../shared.js';

export default defineTool({
  summary: 'Zero the smallest-magnitude weights (L1 unstructured)',
  description: 'conv means GPT-2\'s Conv1D projections (as the seed named them); all = every weight matrix.',
  args: {
    model_path: arg.modelIn(),
    output_model_path: arg.modelOut(),
    pruning_percentage: arg.number(0.2, 'fraction of weights to zero', { min: 0, max: 1 }),
    layer_type: arg.choice(['linear', 'conv', 'embedding', 'all'] as const, 'linear', 'which layers to prune'),
  },
  async run() {
    throw notAvailableYet('transform/pruner');
  },
});
