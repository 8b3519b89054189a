import type { ToolResult } from '../../src/core/events.js';
import { arg, defineTool, UserError } from '../../src/core/tool.js';
import { deviceArg, engineOf, formatCount, requireCpu } from '../shared.js';

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
  async run(ctx, args): Promise<ToolResult> {
    requireCpu(args.device);
    const engine = await engineOf(ctx);
    const model = await engine.model(args.model_path, { cwd: ctx.cwd, signal: ctx.signal, emit: ctx.emit });
    if (ctx.action === 'list') {
      const params = model.arch.parameters(model.cfg).map((p) => ({ name: p.name, shape: p.shape, count: p.shape.reduce((a, b) => a * b, 1) }));
      const width = Math.max(...params.map((p) => p.name.length));
      const lines = params.map((p) => `${p.name.padEnd(width)}  ${`[${p.shape.join(', ')}]`.padEnd(14)}  ${p.count}`);
      lines.push(`${params.length} tensors, ${formatCount(model.parameters)} parameters`);
      return { metrics: { parameters: model.parameters }, message: lines.join('\n'), data: { parameters: params } };
    }

    const { parseDeltas, applyDeltas } = await import('../../src/models/deltas.js');
    const deltas = parseDeltas(args.deltas);
    const tokenizer = model.tokenizer;
    if (!tokenizer) throw new UserError(`${args.model_path} has no tokenizer files; the tweaker needs tokenizer.json to read the prompt`);
    if (args.prompt.length === 0) throw new UserError('--prompt is empty: give some text to continue');
    const promptIds = tokenizer.encode(args.prompt);
    const maxNewTokens = args.max_length - promptIds.length;
    if (maxNewTokens < 1) throw new UserError(`--max_length ${args.max_length} leaves no room: the prompt alone is ${promptIds.length} tokens`);
    const changed = deltas.length ? applyDeltas(model.weights, deltas) : null;
    // A tweaked session is built for this run only and released after it.
    const session = await engine.session(model, changed ? { weights: changed.weights } : {});
    const { generate } = await import('../../src/runtime/generate.js');
    const decoder = tokenizer.streamDecoder({ skipSpecialTokens: true });
    if (!ctx.json) ctx.emit.token(args.prompt);
    try {
      const gen = await generate(session, promptIds, {
        maxNewTokens,
        sampling: { doSample: true, temperature: args.temperature, topK: 50, topP: 1, repetitionPenalty: 1 },
        seed: args.seed as number,
        stopIds: tokenizer.eosTokenIds,
        signal: ctx.signal,
        onToken: (id) => {
          const piece = decoder.push(id);
          if (piece && !ctx.json) ctx.emit.token(piece, id);
        },
      });
      const tail = decoder.flush();
      if (tail && !ctx.json) ctx.emit.token(tail);
      const touched = changed ? [...changed.touched.values()].reduce((n, names) => n + names.length, 0) : 0;
      return {
        metrics: { tokens_per_s: Math.round(gen.tokensPerS * 100) / 100, tensors_changed: touched },
        message: ctx.json ? undefined : `\n(${touched ? `${touched} tensors tweaked for this run; nothing saved` : 'no deltas'})`,
        data: {
          prompt_ids: promptIds,
          generated_ids: gen.generatedIds,
          text: tokenizer.decode(gen.generatedIds, { skipSpecialTokens: true }),
          changed: changed ? Object.fromEntries(changed.touched) : {},
        },
      };
    } finally {
      if (changed) await session.release();
    }
  },
});
