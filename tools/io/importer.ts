import { arg, defineTool } from '../../src/core/tool.js';
import { deviceArg, engineOf, formatCount, requireCpu } from '../shared.js';

const modelPath = arg.modelIn('model to import: directory, hub id (owner/name) or builtin:<name>');

export default defineTool({
  summary: 'Import a model: a local Hugging Face directory, a hub id or a builtin: model',
  description:
    'Validates the architecture and loads the model; hub ids download into the Hugging Face cache\n' +
    '(HF_HOME, HF_TOKEN, HF_HUB_OFFLINE, HF_ENDPOINT are honoured). The model becomes the state\'s model_path.',
  args: {
    model_path: { ...modelPath, resolves: { key: 'model_path', direction: 'in', adopt: true } },
    allow_nonfinite: arg.boolean(false, 'load weights holding NaN or Inf (refused otherwise), e.g. to find the damaged tensor'),
    device: deviceArg(),
  },
  async run(ctx, args) {
    requireCpu(args.device);
    const engine = await engineOf(ctx);
    const model = await engine.model(args.model_path, { cwd: ctx.cwd, signal: ctx.signal, emit: ctx.emit, allowNonfinite: args.allow_nonfinite });
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
