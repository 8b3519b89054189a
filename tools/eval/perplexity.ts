import { arg, defineTool } from '../../src/core/tool.js';
import { notAvailableYet } from '../shared.js';

export default defineTool({
  summary: 'Score the model on a dataset: mean NLL per token and perplexity',
  description: 'Reads the dataset\'s validation split when it has one. --json prints the numbers as one object.',
  args: {
    model_path: arg.modelIn(),
    dataset_path: arg.datasetIn(),
    max_tokens: arg.optionalInteger('score at most this many tokens (none: all)', { min: 2 }),
  },
  async run() {
    throw notAvailableYet('eval/perplexity', 3);
  },
});
