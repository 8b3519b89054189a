import { type ArgSpec, arg, defineTool } from '../../src/core/tool.js';
import { engineOf } from '../shared.js';

/** Bits per weight: int4/int8 block quantization (block 32, with scales) or fp16 storage. */
const precision: ArgSpec<number> = { ...arg.integer(8, 'bits per weight (4, 8: int blocks; 16: fp16)'), choices: ['4', '8', '16'] };

/** The seed's torch module class names, as the layer groups they mean here. */
const GROUPS = { Linear: 'linear', Conv1D: 'conv', Embedding: 'embedding' } as const;

export default defineTool({
  summary: 'Quantize weights to int4/int8 blocks or fp16',
  description:
    'Weight-only block quantization (block 32, with scales; GGUF Q4_0/Q8_0 layouts) run through\n' +
    'ORT\'s MatMulNBits; 16 stores fp16. Quantized models export to ONNX or GGUF.\n' +
    'Linear = the projection matrices (GPT-2\'s Conv1D included), Conv1D = GPT-2\'s only,\n' +
    'Embedding = the embedding tables. 16 stores every tensor as fp16 whatever layer_types says.',
  args: {
    model_path: arg.modelIn(),
    output_model_path: arg.modelOut(),
    precision,
    layer_types: arg.list(['Linear'], 'layer types to quantize', { choices: ['Linear', 'Conv1D', 'Embedding'] }),
  },
  async run(ctx, args) {
    const engine = await engineOf(ctx);
    const model = await engine.model(args.model_path, { cwd: ctx.cwd, signal: ctx.signal, emit: ctx.emit });
    const { writeDerived, floatConfig } = await import('../../src/transforms/output.js');
    const base = { out: args.output_model_path, tool: 'transform/quantizer', args };
    if (args.precision === 16) {
      const { f16ToF32, f32ToF16 } = await import('../../src/models/float16.js');
      // In memory the model holds the fp16-rounded values, the same numbers a reload gives.
      const rounded = new Map([...model.weights].map(([name, t]) => {
        const half = new Uint16Array(t.data.length);
        f32ToF16(t.data, half);
        const data = new Float32Array(t.data.length);
        f16ToF32(half, data);
        return [name, { shape: t.shape, data }];
      }));
      const metrics = { bits: 16, quantized_tensors: rounded.size };
      const { dir } = await writeDerived(ctx, engine, model, { ...base, config: floatConfig(model.config), weights: rounded, dtype: 'F16', metrics });
      return { metrics, message: `stored ${rounded.size} tensors as fp16 → ${dir}`, data: { path: dir, bits: 16 } };
    }

    const { requireParameters } = await import('../../src/transforms/select.js');
    const { quantizeWeights, quantizedConfig } = await import('../../src/transforms/quantize.js');
    const params = model.arch.parameters(model.cfg);
    const targets = new Map<string, (typeof params)[number]>();
    for (const type of args.layer_types as (keyof typeof GROUPS)[]) {
      for (const p of requireParameters(params, GROUPS[type], `--layer_types ${type}:`, model.cfg.modelType)) targets.set(p.name, p);
    }
    const bits = args.precision as 4 | 8;
    const q = quantizeWeights(model.weights, [...targets.values()], bits, ctx.signal);
    for (const name of q.skipped) ctx.emit.log(`${name} stays float: its input width is not a multiple of 32`, 'warn');
    const metrics = { bits, quantized_tensors: q.quantized.length, skipped_tensors: q.skipped.length, rms_error: q.rmsError };
    const { dir } = await writeDerived(ctx, engine, model, {
      ...base, config: quantizedConfig(floatConfig(model.config), bits, q.quantized), weights: q.stored, raw: q.raw, memoryWeights: q.dequantized, metrics,
    });
    return {
      metrics,
      message: `quantized ${q.quantized.length} tensors to ${bits}-bit blocks of 32 (RMS error ${q.rmsError.toExponential(2)})${q.skipped.length ? `, ${q.skipped.length} left float` : ''} → ${dir}`,
      data: { path: dir, bits, quantized: q.quantized, skipped: q.skipped },
    };
  },
});
