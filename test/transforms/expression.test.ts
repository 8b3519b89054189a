import { describe, expect, it } from 'vitest';
import { compileExpression } from '../../src/transforms/expression.js';

describe('compileExpression', () => {
  it.each([
    ['w * 0.5', 3, 1.5],
    ['w + 0.01', 1, 1.01],
    ['0', 7, 0],
    ['x', 2, 2],
    ['-w', 2, -2],
    ['1 - 2 - 3', 0, -4],
    ['8 / 4 / 2', 0, 1],
    ['2 + 3 * w', 4, 14],
    ['(2 + 3) * w', 4, 20],
    ['--w', 5, 5],
    ['abs(w) * sign(w)', -3, -3],
    ['max(w, 0)', -3, 0],
    ['min(w, 1e-3)', 2, 0.001],
    ['sqrt(abs(w)) + exp(0) + log(1) + tanh(0)', -4, 3],
    ['.5*w', 4, 2],
  ])('%s at w=%d is %d', (src, w, want) => {
    expect(compileExpression(src)(w)).toBeCloseTo(want, 12);
  });

  it.each([
    ['', /is empty/],
    ['w *', /expected a number, w or "\(", found the end/],
    ['w w', /expected an operator or the end, found "w" at column 3/],
    ['(w + 1', /expected "\)"/],
    ['process.exit(1)', /unexpected "." at column 8/],
    ['foo(w)', /expected w, x or one of abs, sign/],
    ['w ** 2', /found "\*" at column 4/],
    ['w; 1', /unexpected ";" at column 2/],
    ['max(w)', /max takes 2 arguments, got 1/],
  ])('rejects %j in one line naming the flag', (src, re) => {
    let msg = '';
    try {
      compileExpression(src);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^--param_expression/);
    expect(msg).toMatch(re);
    expect(msg.split('\n')).toHaveLength(1);
  });
});
