import { arg, defineTool } from '../../src/core/tool.js';
import { deviceArg, engineOf, formatCount, requireCpu } from '../shared.js';

export default defineTool({
  summary: 'Export the model as a PyTorch state dict, Hugging Face/safetensors, ONNX or GGUF',
  description:
    'pt: a torch.load-able state dict (pytorch_model.bin in a Hugging Face directory, or one file\n' +
    'when the path ends in .pt/.pth/.bin); hf/safetensors: a Hugging Face model directory;\n' +
    'onnx: the transformers.js layout (onnx/model.onnx; quantized weights run as MatMulNBits);\n' +
    'gguf: one llama.cpp file (.gguf added; quantized weights as Q8_0/Q4_0). The state is not changed.\n' +
    'A transformers.js ONNX model (io/importer --dtype) exports only as onnx: a copy of its variant.',
  args: {
    model_path: arg.modelIn(),
    device: deviceArg(),
    export_model_path: arg.string('export_model', 'where to write the export', { complete: 'path' }),
    export_format: arg.choice(['pt', 'hf', 'safetensors', 'onnx', 'gguf'] as const, 'pt', 'export format'),
  },
  async run(ctx, args) {
    requireCpu(args.device);
    const path = await import('node:path');
    const engine = await engineOf(ctx);
    const target = path.resolve(ctx.cwd, args.export_model_path);
    const at = await engine.locate(args.model_path, { cwd: ctx.cwd, signal: ctx.signal, emit: ctx.emit });
    if (at.kind === 'transformers.js') {
      // ONNX already: the one format it can go to is a copy of itself.
      const { UserError } = await import('../../src/core/tool.js');
      if (args.export_format !== 'onnx') {
        throw new UserError(`${args.model_path} is a transformers.js ONNX model (${at.variant.file}): --export_format ${args.export_format} needs a safetensors checkpoint of a supported architecture; --export_format onnx copies it as it is`);
      }
      const { copyOnnxModel } = await import('../../src/export/onnx-copy.js');
      const r = copyOnnxModel(at.dir, at.variant, target);
      return {
        metrics: { bytes: r.bytes },
        message: `copied the ONNX model ${at.variant.file} (${at.variant.dtype}) → ${r.path} (${formatCount(r.bytes)}B)`,
        data: { path: r.path, format: args.export_format, files: r.files, bytes: r.bytes, quantized: r.quantized },
      };
    }
    const model = await engine.model(args.model_path, { cwd: ctx.cwd, signal: ctx.signal, emit: ctx.emit });
    const { exportModel } = await import('../../src/export/export.js');
    const r = exportModel(model, args.export_format, target);
    const kind = r.quantized ? 'quantized' : 'float';
    return {
      metrics: { bytes: r.bytes },
      message: `exported ${model.cfg.modelType} (${formatCount(model.parameters)} parameters, ${kind}) as ${args.export_format} → ${r.path} (${formatCount(r.bytes)}B)`,
      data: { path: r.path, format: args.export_format, files: r.files, bytes: r.bytes, quantized: r.quantized },
    };
  },
});
