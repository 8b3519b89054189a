import { arg, defineTool } from '../../src/core/tool.js';
import { notAvailableYet } from '../shared.js';

export default defineTool({
  summary: 'Reset parameters matching a pattern to zero, random values or an expression',
  description:
    'param_pattern is a regex over parameter names. Giving --param_expression implies\n' +
    '--reset_type expression; the expression sees the old value as x.',
  args: {
    model_path: arg.modelIn(),
    output_model_path: arg.modelOut(),
    reset_type: arg.choice(['zero', 'random', 'expression'] as const, 'zero', 'what the matching parameters become'),
    param_pattern: arg.string('.*', 'regex over parameter names', { complete: 'param-name' }),
    param_expression: arg.optionalString('expression of x (the old value), e.g. "x * 0.5"'),
    seed: arg.seed(),
  },
  async run() {
    throw notAvailableYet('transform/editor');
  },
});
