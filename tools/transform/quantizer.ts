import { type ArgSpec, arg, defineTool } from '../../src/core/tool.js';
import { notAvailableYet } from '../shared.js';

/** Bits per weight: int4/int8 block quantization (block 32, with scales) or fp16 storage. */
const precision: ArgSpec<number> = { ...arg.integer(8, 'bits per weight (4, 8: int blocks; 16: fp16)'), choices: ['4', '8', '16'] };

export default defineTool({
  summary: 'Quantize weights to int4/int8 blocks or fp16',
  description:
    'Weight-only block quantization (block 32, with scales; GGUF Q4_0/Q8_0 layouts) run through\n' +
    'ORT\'s MatMulNBits; 16 stores fp16. Quantized models export to ONNX or GGUF.',
  args: {
    model_path: arg.modelIn(),
    output_model_path: arg.modelOut(),
    precision,
    layer_types: arg.list(['Linear'], 'layer types to quantize', { choices: ['Linear', 'Conv1D', 'Embedding'] }),
  },
  async run() {
    throw notAvailableYet('transform/quantizer');
  },
});
