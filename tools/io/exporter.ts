import { arg, defineTool } from '../../src/core/tool.js';
import { deviceArg, notAvailableYet, requireCpu } from '../shared.js';

export default defineTool({
  summary: 'Export the model as a PyTorch state dict, Hugging Face/safetensors, ONNX or GGUF',
  description:
    'pt: a torch.load-able state dict; hf/safetensors: a Hugging Face model directory;\n' +
    'onnx: the transformers.js layout; gguf: a llama.cpp file. The state is not changed.',
  args: {
    model_path: arg.modelIn(),
    device: deviceArg(),
    export_model_path: arg.string('export_model', 'where to write the export', { complete: 'path' }),
    export_format: arg.choice(['pt', 'hf', 'safetensors', 'onnx', 'gguf'] as const, 'pt', 'export format'),
  },
  async run(_ctx, args) {
    requireCpu(args.device);
    throw notAvailableYet('io/exporter');
  },
});
