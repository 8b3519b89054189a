import type { ToolResult } from '../../src/core/events.js';
import { arg, defineTool } from '../../src/core/tool.js';
import { ONNX_DTYPE_NAMES } from '../../src/models/onnx-layout.js';
import { deviceArg, engineOf, formatCount, requireCpu } from '../shared.js';

const modelPath = arg.modelIn('model to import: directory, hub id (owner/name) or builtin:<name>');

export default defineTool({
  summary: 'Import a model: a local Hugging Face directory, a hub id or a builtin: model',
  description:
    'Validates the architecture and loads the model; hub ids download into the Hugging Face cache\n' +
    '(HF_HOME, HF_TOKEN, HF_HUB_OFFLINE, HF_ENDPOINT are honoured). The model becomes the state\'s model_path.\n' +
    'A ready-made ONNX model in the transformers.js layout (onnx/model*.onnx, no safetensors) runs\n' +
    'through transformers.js for infer/sampler and eval/perplexity: --dtype picks its variant (auto:\n' +
    'the smallest that runs on the CPU), and model_path becomes that file (dir/onnx/model_q4.onnx).',
  args: {
    model_path: { ...modelPath, resolves: { key: 'model_path', direction: 'in', adopt: true } },
    dtype: arg.choice(['auto', ...ONNX_DTYPE_NAMES] as const, 'auto', 'ONNX variant of a transformers.js-layout model (auto: the smallest that runs on the CPU)'),
    allow_nonfinite: arg.boolean(false, 'load weights holding NaN or Inf (refused otherwise), e.g. to find the damaged tensor'),
    device: deviceArg(),
  },
  async run(ctx, args): Promise<ToolResult> {
    requireCpu(args.device);
    const engine = await engineOf(ctx);
    const held = await engine.load(args.model_path, { cwd: ctx.cwd, signal: ctx.signal, emit: ctx.emit, allowNonfinite: args.allow_nonfinite, dtype: args.dtype });
    if (held.kind === 'transformers.js') {
      const { localVariants } = await import('../../src/models/onnx-layout.js');
      const { variantSpec } = await import('../../src/models/source.js');
      const { dir, variant, modelType, tokenizer } = held.model;
      const all = localVariants(dir).map((v) => v.dtype);
      const why = args.dtype !== 'auto' ? `--dtype ${args.dtype}` : all.length === 1 ? 'the only variant' : `the smallest that runs on the CPU, of ${all.join(', ')}`;
      const spec = variantSpec(args.model_path, variant.file);
      return {
        metrics: { bytes: variant.bytes },
        message:
          `imported ${args.model_path}: ${modelType}, ONNX run by transformers.js: ${variant.file} (${variant.dtype}: ${why}), ` +
          `${formatCount(variant.bytes)}B, ${tokenizer ? `${tokenizer.vocabSize}-token tokenizer` : 'no tokenizer'}\nmodel_path is now ${spec}`,
        data: { path: dir, model_type: modelType, engine: 'transformers.js', onnx_file: variant.file, dtype: variant.dtype, bytes: variant.bytes, model_path: spec },
        adopt: { model_path: spec },
      };
    }
    const model = held.model;
    if (args.allow_nonfinite) {
      const { firstNonFinite } = await import('../../src/models/weight-checks.js');
      const bad = firstNonFinite(model.weights);
      if (bad) ctx.emit.log(`tensor ${bad.name} holds ${bad.value} (at index ${bad.index}); other tools will refuse this model`, 'warn');
    }
    const { cfg } = model;
    const tokenizer = model.tokenizer ? `${model.tokenizer.vocabSize}-token tokenizer` : 'no tokenizer';
    return {
      metrics: { parameters: model.parameters },
      message:
        `imported ${args.model_path}: ${cfg.modelType}, ${formatCount(model.parameters)} parameters, ` +
        `${cfg.numLayers} layers × ${cfg.hiddenSize} wide, ${tokenizer}`,
      data: { path: model.dir, model_type: cfg.modelType, parameters: model.parameters, layers: cfg.numLayers, hidden_size: cfg.hiddenSize, vocab_size: cfg.vocabSize },
    };
  },
});
