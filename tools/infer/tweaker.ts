import { arg, defineTool } from '../../src/core/tool.js';
import { deviceArg, notAvailableYet, requireCpu } from '../shared.js';

export default defineTool({
  summary: 'Sample with temporary deltas added to named parameters; list parameters',
  description:
    'deltas is "name=value,…": value is added to every parameter whose name matches (regexes allowed).\n' +
    'The change is never saved. The list action prints parameter names, shapes and counts.',
  args: {
    model_path: arg.modelIn(),
    prompt: arg.string('Once upon a time', 'text to continue'),
    deltas: arg.string('', 'name=value,… added to the named parameters', { complete: 'param-name' }),
    temperature: arg.number(0.6, 'softmax temperature', { gt: 0 }),
    max_length: arg.integer(100, 'total length in tokens, prompt included', { min: 1 }),
    seed: arg.seed(),
    device: deviceArg(),
  },
  actions: { list: 'print parameter names, shapes and counts' },
  async run(_ctx, args) {
    requireCpu(args.device);
    throw notAvailableYet('infer/tweaker', 3);
  },
});
