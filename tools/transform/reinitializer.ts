import path from 'node:path';
import { type ArgSpec, arg, defineTool } from '../../src/core/tool.js';
import { SUPPORTED_MODEL_TYPES } from '../../src/models/index.js';
import { engineOf, formatCount } from '../shared.js';

/** Every architecture the registry has: a new family file is a new choice. */
const modelType: ArgSpec<string | null> = {
  kind: 'choice', default: null, choices: [...SUPPORTED_MODEL_TYPES],
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
  async run(ctx, args) {
    const { resolveModelSource } = await import('../../src/models/source.js');
    const { readCheckpointInfo, writeCheckpoint } = await import('../../src/models/checkpoint.js');
    const { reshapeConfig } = await import('../../src/models/config-edit.js');
    const { resolveArchitecture } = await import('../../src/models/index.js');
    const { Random } = await import('../../src/core/random.js');
    // Only the config and tokenizer are needed, so a directory without weights works too.
    const src = await resolveModelSource(args.model_path, { cwd: ctx.cwd, signal: ctx.signal, emit: ctx.emit });
    const { refuseOnnxSource } = await import('../../src/models/onnx-layout.js');
    refuseOnnxSource(args.model_path, src);
    const info = readCheckpointInfo(src);
    // Before anything per layer (the families list per-layer settings as they read a config):
    // --num_layers 1e9 is one line, not minutes of work and V8 out of memory.
    const { checkFitsInMemory } = await import('../../src/models/weight-checks.js');
    const { cfg: from } = resolveArchitecture(info.config);
    checkFitsInMemory({ ...from, numLayers: args.num_layers ?? from.numLayers, hiddenSize: args.hidden_size ?? from.hiddenSize });
    const config = reshapeConfig(info.config, {
      modelType: args.model_type,
      numLayers: args.num_layers,
      hiddenSize: args.hidden_size,
      numHeads: args.num_heads,
      numKvHeads: args.num_kv_heads,
      intermediateSize: args.intermediate_size,
    });
    const { arch, cfg } = resolveArchitecture(config);
    const weights = arch.init(cfg, new Random(args.seed as number));
    const provenance = { parent: args.model_path, tool: 'transform/reinitializer', args: { ...args }, created_at: new Date().toISOString() };
    const out = path.resolve(ctx.cwd, args.output_model_path);
    const ckpt = { config, weights, generationConfig: info.generationConfig, provenance };
    writeCheckpoint(out, { ...ckpt, dir: src, tokenizerFiles: info.tokenizerFiles }, { flag: '--output_model_path' });
    const model = await (await engineOf(ctx)).adopt(out, ckpt);
    return {
      metrics: { parameters: model.parameters },
      message: `new ${cfg.modelType} model: ${cfg.numLayers} layers × ${cfg.hiddenSize} wide, ${formatCount(model.parameters)} parameters (seed ${args.seed})`,
      data: { path: out, model_type: cfg.modelType, parameters: model.parameters, layers: cfg.numLayers },
    };
  },
});
