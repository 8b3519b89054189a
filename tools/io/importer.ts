import { arg, defineTool } from '../../src/core/tool.js';
import { deviceArg, notAvailableYet, requireCpu } from '../shared.js';

export default defineTool({
  summary: 'Import a model: a local Hugging Face directory, a hub id or a builtin: model',
  description:
    'Validates the architecture and loads the model; hub ids download into the Hugging Face cache\n' +
    '(HF_HOME, HF_TOKEN, HF_HUB_OFFLINE, HF_ENDPOINT are honoured). The model becomes the state\'s model_path.',
  args: {
    model_path: arg.modelIn('model to import: directory, hub id (owner/name) or builtin:<name>'),
    device: deviceArg(),
  },
  async run(_ctx, args) {
    requireCpu(args.device);
    throw notAvailableYet('io/importer', 3);
  },
});
