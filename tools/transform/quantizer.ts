import { type ArgSpec, arg, defineTool } from '../../src/core/tool.js';
import type { LayerType } from '../../src/transforms/quantize-targets.js';
import { engineOf } from '../shared.js';

/** Bits per weight: int4/int8 block quantization (block 32, with scales) or fp16 storage. */
const precision: ArgSpec<number> = { ...arg.integer(8, 'bits per weight (4, 8: int blocks; 16: fp16)'), choices: ['4', '8', '16'] };
/** The head's bits: 8 by default, as llama.cpp keeps the head wider than 4-bit layers; 32 keeps it float. */
const headPrecision: ArgSpec<number> = { ...arg.integer(8, 'bits of the head and of a tied embedding (4, 8; 32: keep float)'), choices: ['4', '8', '32'] };

/** The seed's torch module class names, as the layer groups they mean here. */
const LAYER_TYPES: readonly LayerType[] = ['Linear', 'Conv1D', 'Embedding'];

export default defineTool({
  summary: 'Quantize weights to int4/int8 blocks or fp16',
  description:
    'Weight-only block quantization (block 32, with scales; GGUF Q4_0/Q8_0 layouts) run through\n' +
    'ORT\'s MatMulNBits (GatherBlockQuantized for embedding rows); 16 stores fp16. Quantized models\n' +
    'export to ONNX or GGUF. Linear = the projection matrices (GPT-2\'s Conv1D included) and the\n' +
    'head (torch\'s lm_head is a Linear), Conv1D = GPT-2\'s projections only, Embedding = the\n' +
    'embedding tables. The head takes --head_precision: 8 by default, as llama.cpp keeps the head\n' +
    'wider than 4-bit layers (the largest matrix of a small model, and the most sensitive to\n' +
    'rounding); 32 keeps it float. A tied head is the token embedding: one tensor, at the head\'s\n' +
    'bits. 16 stores every tensor as fp16 whatever layer_types says.',
  args: {
    model_path: arg.modelIn(),
    output_model_path: arg.modelOut(),
    precision,
    layer_types: arg.list(['Linear'], 'layer types to quantize', { choices: LAYER_TYPES }),
    head_precision: headPrecision,
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

    const { quantizeWeights, quantizedConfig } = await import('../../src/transforms/quantize.js');
    const { quantizationTargets } = await import('../../src/transforms/quantize-targets.js');
    const bits = args.precision as 4 | 8;
    const targets = quantizationTargets(model.arch.parameters(model.cfg), model.cfg, args.layer_types as LayerType[], bits, args.head_precision === 32 ? null : (args.head_precision as 4 | 8));
    const q = quantizeWeights(model.weights, targets, ctx.signal);
    for (const name of q.skipped) ctx.emit.log(`${name} stays float: its input width is not a multiple of 32`, 'warn');
    const metrics = { bits, head_bits: args.head_precision, quantized_tensors: q.quantized.length, skipped_tensors: q.skipped.length, rms_error: q.rmsError };
    const mixed = targets.some((t) => t.bits !== bits && q.quantized.includes(t.spec.name));
    const { dir } = await writeDerived(ctx, engine, model, {
      ...base, config: quantizedConfig(floatConfig(model.config), bits, targets, q.quantized), weights: q.stored, raw: q.raw, memoryWeights: q.dequantized, metrics,
    });
    return {
      metrics,
      message: `quantized ${q.quantized.length} tensors to ${bits}-bit blocks of 32${mixed ? `, the head to ${args.head_precision}-bit` : ''} (RMS error ${q.rmsError.toExponential(2)})${q.skipped.length ? `, ${q.skipped.length} left float` : ''} → ${dir}`,
      data: { path: dir, bits, quantized: q.quantized, skipped: q.skipped },
    };
  },
});
