/**
 * A tiny arithmetic language for the editor's --param_expression, parsed by recursive
 * descent and compiled to closures (never eval): the old value as `w` (or `x`), numbers
 * (1, 0.5, 1e-3), + - * / with the usual precedence, unary minus, parentheses, and the
 * functions abs, sign, sqrt, exp, log, tanh, min, max.
 *
 *   expr   := term (('+' | '-') term)*
 *   term   := unary (('*' | '/') unary)*
 *   unary  := '-' unary | '+' unary | atom
 *   atom   := number | 'w' | 'x' | name '(' expr (',' expr)* ')' | '(' expr ')'
 */
import { UserError } from '../core/tool.js';

/** A compiled expression: the new value from the old one. */
export type ElementFn = (w: number) => number;

const FUNCTIONS: Record<string, { arity: number; fn: (...a: number[]) => number }> = {
  abs: { arity: 1, fn: Math.abs },
  sign: { arity: 1, fn: Math.sign },
  sqrt: { arity: 1, fn: Math.sqrt },
  exp: { arity: 1, fn: Math.exp },
  log: { arity: 1, fn: Math.log },
  tanh: { arity: 1, fn: Math.tanh },
  min: { arity: 2, fn: Math.min },
  max: { arity: 2, fn: Math.max },
};

type Token = { kind: 'num'; value: number; at: number } | { kind: 'name'; value: string; at: number } | { kind: 'op'; value: string; at: number };

function tokenize(src: string, flag: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_]\w*)|([-+*/(),]))/y;
  let i = 0;
  while (i < src.length) {
    if (/^\s*$/.test(src.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(src);
    if (!m) throw new UserError(`${flag} "${src}": unexpected "${src.slice(i).trim()[0]}" at column ${i + 1}; use w, numbers, + - * / ( ) and ${Object.keys(FUNCTIONS).join(', ')}`);
    const at = m.index + m[0].length - (m[1] ?? m[2] ?? m[3]).length;
    if (m[1] !== undefined) tokens.push({ kind: 'num', value: Number(m[1]), at });
    else if (m[2] !== undefined) tokens.push({ kind: 'name', value: m[2], at });
    else tokens.push({ kind: 'op', value: m[3], at });
    i = re.lastIndex;
  }
  return tokens;
}

/** Parses and compiles `src`; errors name `flag` and say what was expected. */
export function compileExpression(src: string, flag = '--param_expression'): ElementFn {
  const tokens = tokenize(src, flag);
  let pos = 0;
  const fail = (what: string): never => {
    const t = tokens[pos];
    const where = t ? `"${t.value}" at column ${t.at + 1}` : 'the end';
    throw new UserError(`${flag} "${src}": expected ${what}, found ${where}`);
  };
  const isOp = (v: string) => tokens[pos]?.kind === 'op' && tokens[pos].value === v;
  const expect = (v: string) => (isOp(v) ? pos++ : fail(`"${v}"`));

  function expr(): ElementFn {
    let left = term();
    while (isOp('+') || isOp('-')) {
      const minus = tokens[pos++].value === '-';
      const a = left;
      const b = term();
      left = minus ? (w) => a(w) - b(w) : (w) => a(w) + b(w);
    }
    return left;
  }
  function term(): ElementFn {
    let left = unary();
    while (isOp('*') || isOp('/')) {
      const div = tokens[pos++].value === '/';
      const a = left;
      const b = unary();
      left = div ? (w) => a(w) / b(w) : (w) => a(w) * b(w);
    }
    return left;
  }
  function unary(): ElementFn {
    if (isOp('-')) {
      pos++;
      const a = unary();
      return (w) => -a(w);
    }
    if (isOp('+')) {
      pos++;
      return unary();
    }
    return atom();
  }
  function atom(): ElementFn {
    const t = tokens[pos];
    if (!t) return fail('a number, w or "("');
    if (t.kind === 'num') {
      pos++;
      return () => t.value;
    }
    if (t.kind === 'name') {
      pos++;
      if (t.value === 'w' || t.value === 'x') return (w) => w;
      const f = FUNCTIONS[t.value];
      if (!f) {
        pos--;
        return fail(`w, x or one of ${Object.keys(FUNCTIONS).join(', ')}`);
      }
      expect('(');
      const args = [expr()];
      while (isOp(',')) {
        pos++;
        args.push(expr());
      }
      if (args.length !== f.arity) throw new UserError(`${flag} "${src}": ${t.value} takes ${f.arity} argument${f.arity > 1 ? 's' : ''}, got ${args.length}`);
      expect(')');
      const [a, b] = args;
      return f.arity === 1 ? (w) => f.fn(a(w)) : (w) => f.fn(a(w), b(w));
    }
    if (isOp('(')) {
      pos++;
      const inner = expr();
      expect(')');
      return inner;
    }
    return fail('a number, w or "("');
  }

  if (tokens.length === 0) throw new UserError(`${flag} is empty; give an expression of w, e.g. "w * 0.5"`);
  const fn = expr();
  if (pos < tokens.length) fail('an operator or the end');
  return fn;
}
