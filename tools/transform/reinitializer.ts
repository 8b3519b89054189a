import { type ArgSpec, arg, defineTool } from '../../src/core/tool.js';
import { notAvailableYet } from '../shared.js';

/** The architectures src/models/ builds; kept literal so importing this module stays cheap. */
const modelType: ArgSpec<string | null> = {
  kind: 'choice', default: null, choices: ['gpt2', 'llama', 'mistral', 'qwen2'],
  help: 'architecture of the new model (none: the current model\'s)',
};

export default defineTool({
  summary: 'Make a new randomly initialised model from the current model\'s config',
  description:
    'Overrides the config with the flags given (num_layers sets n_layer or num_hidden_layers),\n' +
    'initialises with the architecture\'s own scheme and copies the tokenizer. model_path may be\n' +
    'a directory holding only config.json and tokenizer files.',
  args: {
    model_path: arg.modelIn(),
    output_model_path: arg.modelOut(),
    num_layers: arg.optionalInteger('number of layers (none: unchanged)', { min: 1 }),
    model_type: modelType,
    hidden_size: arg.optionalInteger('width of the residual stream', { min: 1 }),
    num_heads: arg.optionalInteger('attention heads', { min: 1 }),
    num_kv_heads: arg.optionalInteger('key/value heads (grouped-query attention)', { min: 1 }),
    intermediate_size: arg.optionalInteger('width of the MLP', { min: 1 }),
    seed: arg.seed(),
  },
  async run() {
    throw notAvailableYet('transform/reinitializer', 3);
  },
});
