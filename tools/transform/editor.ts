import { arg, defineTool, UserError } from '../../src/core/tool.js';
import { engineOf } from '../shared.js';

export default defineTool({
  summary: 'Reset parameters matching a pattern to zero, random values or an expression',
  description:
    'param_pattern is a regex that must match whole parameter names. random draws from the\n' +
    'architecture\'s own initialisation. Giving --param_expression implies --reset_type expression;\n' +
    'the expression sees the old value as w (or x): numbers, + - * / ( ), abs sign sqrt exp log tanh min max.',
  args: {
    model_path: arg.modelIn(),
    output_model_path: arg.modelOut(),
    reset_type: arg.choice(['zero', 'random', 'expression'] as const, 'zero', 'what the matching parameters become'),
    param_pattern: arg.string('.*', 'regex over parameter names', { complete: 'param-name' }),
    param_expression: arg.optionalString('expression of w (the old value), e.g. "w * 0.5"'),
    seed: arg.seed(),
  },
  async run(ctx, args) {
    const { compileExpression } = await import('../../src/transforms/expression.js');
    const { matchParameters, resetParameters } = await import('../../src/transforms/edit.js');
    const { writeDerived } = await import('../../src/transforms/output.js');
    const expression = args.param_expression ?? null;
    // An expression given with the default reset_type means expression, as in the seed.
    const kind = expression !== null && args.reset_type === 'zero' ? 'expression' : args.reset_type;
    if (kind === 'expression' && expression === null) throw new UserError('--reset_type expression needs --param_expression, e.g. "w * 0.5"');
    if (kind !== 'expression' && expression !== null) throw new UserError(`--param_expression only applies to --reset_type expression, not ${kind}`);
    const fn = expression !== null ? compileExpression(expression) : null;
    const engine = await engineOf(ctx);
    const model = await engine.model(args.model_path, { cwd: ctx.cwd, signal: ctx.signal, emit: ctx.emit });
    const targets = matchParameters(model.arch.parameters(model.cfg), args.param_pattern);
    const reset = kind === 'zero' ? { kind } : kind === 'random' ? { kind, seed: args.seed as number } : { kind, fn: fn! };
    const weights = resetParameters(model.arch, model.cfg, model.weights, targets, reset);
    const changed = targets.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
    const metrics = { tensors: targets.length, parameters_changed: changed };
    const { dir } = await writeDerived(ctx, engine, model, {
      out: args.output_model_path, weights, tool: 'transform/editor', args: { ...args, reset_type: kind }, metrics,
    });
    const how = kind === 'expression' ? `w ↦ ${expression}` : kind === 'random' ? `fresh init (seed ${args.seed})` : 'zero';
    return {
      metrics,
      message: `${targets.length} tensors (${changed} values) matching /${args.param_pattern}/ set to ${how} → ${dir}`,
      data: { path: dir, tensors: targets.map((p) => p.name), reset_type: kind },
    };
  },
});
