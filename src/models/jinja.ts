/**
 * The part of Jinja that chat templates use, rendered as transformers does (trim_blocks and
 * lstrip_blocks on, one trailing newline dropped, `-` strips whitespace beside a tag): text,
 * `{{ expr }}`, `{% if/elif/else %}`, `{% for x in xs %}` (with `loop`), `{% set %}` (also
 * `ns.attr`), `{# #}`; expressions with literals, lists, dicts, `.attr`, `[key]`, slices,
 * calls, filters, `is` tests, `not/and/or`, comparisons, `in`, `+ - * / // % ~` and `a if c
 * else b`; the string, dict and list methods and filters those templates call. What it lacks
 * is a one-line error naming the construct.
 *
 * Why not @huggingface/jinja (what transformers.js renders with): it is not among our
 * dependencies; swapping it in means replacing `renderTemplate`.
 */
import { UserError } from '../core/tool.js';
import { callMethod, FILTERS, TESTS, type Value } from './jinja-values.js';

type Expr =
  | { k: 'lit'; v: Value }
  | { k: 'var'; name: string }
  | { k: 'list'; items: Expr[] }
  | { k: 'dict'; entries: [Expr, Expr][] }
  | { k: 'attr'; obj: Expr; name: string }
  | { k: 'index'; obj: Expr; key: Expr }
  | { k: 'slice'; obj: Expr; start?: Expr; stop?: Expr; step?: Expr }
  | { k: 'call'; fn: Expr; args: Expr[]; kwargs: [string, Expr][] }
  | { k: 'filter'; value: Expr; name: string; args: Expr[] }
  | { k: 'test'; value: Expr; name: string; negate: boolean }
  | { k: 'unary'; op: string; value: Expr }
  | { k: 'binary'; op: string; left: Expr; right: Expr }
  | { k: 'cond'; test: Expr; then: Expr; else?: Expr };

type Node =
  | { k: 'text'; text: string }
  | { k: 'out'; expr: Expr }
  | { k: 'if'; branches: { test: Expr | null; body: Node[] }[] }
  | { k: 'for'; names: string[]; iter: Expr; body: Node[]; empty: Node[] }
  | { k: 'set'; target: Expr; value: Expr };

const fail = (what: string): never => {
  throw new UserError(`chat template: ${what}`);
};

// ── lexing: text and tags, with transformers' whitespace rules ──────────────────────────────

type Piece = { k: 'text'; text: string } | { k: 'out' | 'stmt'; src: string };

function pieces(template: string): Piece[] {
  let src = template.endsWith('\n') ? template.slice(0, -1) : template;
  src = src.replace(/^[ \t]*({[#%-])/gm, '$1').replace(/([#%-]})\n/g, '$1');
  const out: Piece[] = [];
  let i = 0;
  let stripNext = false;
  while (i < src.length) {
    const open = src.slice(i).search(/{[{%#]/);
    let text = open < 0 ? src.slice(i) : src.slice(i, i + open);
    if (stripNext) text = text.trimStart();
    if (open < 0) {
      if (text) out.push({ k: 'text', text });
      break;
    }
    const start = i + open;
    const kind = src[start + 1];
    const close = kind === '{' ? '}}' : kind === '%' ? '%}' : '#}';
    const end = src.indexOf(close, start + 2);
    if (end < 0) fail(`unclosed ${src.slice(start, start + 2)}`);
    let inner = src.slice(start + 2, end);
    if (inner.startsWith('-')) { text = text.trimEnd(); inner = inner.slice(1); }
    stripNext = inner.endsWith('-');
    if (stripNext) inner = inner.slice(0, -1);
    if (text) out.push({ k: 'text', text });
    if (kind !== '#' && !/^\s*(end)?generation\s*$/.test(inner)) out.push({ k: kind === '{' ? 'out' : 'stmt', src: inner.trim() });
    i = end + 2;
  }
  return out;
}

// ── expressions ──────────────────────────────────────────────────────────────────────────────

const TOKEN = /\s*(?:(\d+\.\d+|\d+)|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|([A-Za-z_]\w*)|(\/\/|==|!=|<=|>=|\*\*|[-+*/%~<>()[\]{}.,:|=]))/y;
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' };

class Parser {
  private toks: string[] = [];
  private pos = 0;
  constructor(src: string) {
    TOKEN.lastIndex = 0;
    let m: RegExpExecArray | null;
    while (TOKEN.lastIndex < src.length && (m = TOKEN.exec(src))) this.toks.push(m[0].trim());
    if (src.slice(TOKEN.lastIndex).trim()) fail(`cannot read "${src.slice(TOKEN.lastIndex).trim()}"`);
  }
  peek(): string | undefined { return this.toks[this.pos]; }
  next(): string { return this.toks[this.pos++] ?? fail('unexpected end of an expression'); }
  accept(t: string): boolean { if (this.peek() === t) { this.pos++; return true; } return false; }
  expect(t: string): void { if (!this.accept(t)) fail(`expected "${t}" but found "${this.peek() ?? 'the end'}"`); }
  done(): boolean { return this.pos >= this.toks.length; }
  name(): string { const t = this.next(); if (!/^[A-Za-z_]\w*$/.test(t)) fail(`expected a name, found "${t}"`); return t; }

  expr(): Expr {
    const then = this.or();
    if (!this.accept('if')) return then;
    const test = this.or();
    return { k: 'cond', test, then, else: this.accept('else') ? this.expr() : undefined };
  }
  private or(): Expr { let l = this.and(); while (this.accept('or')) l = { k: 'binary', op: 'or', left: l, right: this.and() }; return l; }
  private and(): Expr { let l = this.not(); while (this.accept('and')) l = { k: 'binary', op: 'and', left: l, right: this.not() }; return l; }
  private not(): Expr { return this.accept('not') ? { k: 'unary', op: 'not', value: this.not() } : this.compare(); }
  private compare(): Expr {
    let l = this.concat();
    for (;;) {
      const t = this.peek();
      if (t && ['==', '!=', '<', '>', '<=', '>=', 'in'].includes(t)) { this.pos++; l = { k: 'binary', op: t, left: l, right: this.concat() }; }
      else if (t === 'not' && this.toks[this.pos + 1] === 'in') { this.pos += 2; l = { k: 'unary', op: 'not', value: { k: 'binary', op: 'in', left: l, right: this.concat() } }; }
      else if (this.accept('is')) { const negate = this.accept('not'); l = { k: 'test', value: l, name: this.name(), negate }; }
      else return l;
    }
  }
  private concat(): Expr { let l = this.sum(); while (this.accept('~')) l = { k: 'binary', op: '~', left: l, right: this.sum() }; return l; }
  private sum(): Expr {
    let l = this.product();
    while (this.peek() === '+' || this.peek() === '-') l = { k: 'binary', op: this.next(), left: l, right: this.product() };
    return l;
  }
  private product(): Expr {
    let l = this.unary();
    while (['*', '/', '//', '%'].includes(this.peek() ?? '')) l = { k: 'binary', op: this.next(), left: l, right: this.unary() };
    return l;
  }
  private unary(): Expr { return this.accept('-') ? { k: 'unary', op: '-', value: this.unary() } : this.postfix(this.primary()); }
  private postfix(e: Expr): Expr {
    for (;;) {
      if (this.accept('.')) e = { k: 'attr', obj: e, name: this.name() };
      else if (this.accept('[')) e = this.subscript(e);
      else if (this.accept('(')) e = this.call(e);
      else if (this.accept('|')) {
        const name = this.name();
        const args = this.accept('(') ? (this.call({ k: 'lit', v: null }) as { args: Expr[] }).args : [];
        e = { k: 'filter', value: e, name, args };
      } else return e;
    }
  }
  private subscript(obj: Expr): Expr {
    const part = (): Expr | undefined => (this.peek() === ':' || this.peek() === ']' ? undefined : this.expr());
    const start = part();
    if (this.accept(']')) return { k: 'index', obj, key: start! };
    this.expect(':');
    const stop = part();
    const step = this.accept(':') ? part() : undefined;
    this.expect(']');
    return { k: 'slice', obj, start, stop, step };
  }
  private call(fn: Expr): Expr {
    const args: Expr[] = [];
    const kwargs: [string, Expr][] = [];
    while (!this.accept(')')) {
      if (/^[A-Za-z_]\w*$/.test(this.peek() ?? '') && this.toks[this.pos + 1] === '=') { const n = this.next(); this.next(); kwargs.push([n, this.expr()]); }
      else args.push(this.expr());
      if (!this.accept(',')) { this.expect(')'); break; }
    }
    return { k: 'call', fn, args, kwargs };
  }
  private primary(): Expr {
    const t = this.next();
    if (/^\d/.test(t)) return { k: 'lit', v: Number(t) };
    if (t[0] === '"' || t[0] === "'") return { k: 'lit', v: t.slice(1, -1).replace(/\\(.)/g, (_, c: string) => ESCAPES[c] ?? `\\${c}`) };
    if (t === '(') { const e = this.expr(); this.expect(')'); return e; }
    if (t === '[') {
      const items: Expr[] = [];
      while (!this.accept(']')) { items.push(this.expr()); if (!this.accept(',')) { this.expect(']'); break; } }
      return { k: 'list', items };
    }
    if (t === '{') {
      const entries: [Expr, Expr][] = [];
      while (!this.accept('}')) { const key = this.expr(); this.expect(':'); entries.push([key, this.expr()]); if (!this.accept(',')) { this.expect('}'); break; } }
      return { k: 'dict', entries };
    }
    const lit: Record<string, Value> = { true: true, True: true, false: false, False: false, none: null, None: null };
    if (t in lit) return { k: 'lit', v: lit[t] };
    if (/^[A-Za-z_]\w*$/.test(t)) return { k: 'var', name: t };
    return fail(`unexpected "${t}"`);
  }
}

// ── statements ───────────────────────────────────────────────────────────────────────────────

function parse(template: string): Node[] {
  const list = pieces(template);
  let i = 0;
  const block = (ends: string[]): { body: Node[]; end: string } => {
    const body: Node[] = [];
    while (i < list.length) {
      const p = list[i++];
      if (p.k === 'text') { body.push({ k: 'text', text: p.text }); continue; }
      const parser = new Parser(p.src);
      if (p.k === 'out') { body.push({ k: 'out', expr: parser.expr() }); continue; }
      const word = parser.name();
      if (ends.includes(word)) { i--; return { body, end: word }; }
      if (word === 'if') {
        const branches = [{ test: parser.expr() as Expr | null, body: [] as Node[] }];
        for (;;) {
          const r = block(['elif', 'else', 'endif']);
          branches[branches.length - 1].body = r.body;
          const tag = new Parser((list[i++] as { src: string }).src);
          const w = tag.name();
          if (w === 'endif') break;
          branches.push({ test: w === 'elif' ? tag.expr() : null, body: [] });
        }
        body.push({ k: 'if', branches });
      } else if (word === 'for') {
        const names = [parser.name()];
        while (parser.accept(',')) names.push(parser.name());
        parser.expect('in');
        const iter = parser.expr();
        const r = block(['else', 'endfor']);
        i++;
        const empty = r.end === 'else' ? block(['endfor']).body : [];
        if (r.end === 'else') i++;
        body.push({ k: 'for', names, iter, body: r.body, empty });
      } else if (word === 'set') {
        const target = parser.expr();
        parser.expect('=');
        body.push({ k: 'set', target, value: parser.expr() });
      } else {
        fail(`{% ${word} %} is not supported`);
      }
    }
    if (ends.length) fail(`missing {% ${ends.at(-1)} %}`);
    return { body, end: '' };
  };
  return block([]).body;
}

// ── evaluation ───────────────────────────────────────────────────────────────────────────────

type Scope = Map<string, Value>;

function lookup(scopes: Scope[], name: string): Value | undefined {
  for (let s = scopes.length - 1; s >= 0; s--) if (scopes[s].has(name)) return scopes[s].get(name);
  return undefined;
}

function truthy(v: Value | undefined): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}

function str(v: Value | undefined): string {
  if (v === undefined || v === null) return v === null ? 'None' : '';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'object') return FILTERS.string(v, []) as string;
  return String(v);
}

function evaluate(e: Expr, scopes: Scope[]): Value | undefined {
  const ev = (x: Expr) => evaluate(x, scopes);
  switch (e.k) {
    case 'lit': return e.v;
    case 'var': return lookup(scopes, e.name);
    case 'list': return e.items.map((x) => ev(x) ?? null);
    case 'dict': return Object.fromEntries(e.entries.map(([a, b]) => [str(ev(a)), ev(b) ?? null]));
    case 'attr': {
      const obj = ev(e.obj);
      return obj && typeof obj === 'object' && !Array.isArray(obj) && e.name in obj ? (obj as Record<string, Value>)[e.name] : undefined;
    }
    case 'index': {
      const obj = ev(e.obj);
      const key = ev(e.key);
      if (Array.isArray(obj) || typeof obj === 'string') { const n = Number(key); return obj[n < 0 ? obj.length + n : n]; }
      return obj && typeof obj === 'object' ? (obj as Record<string, Value>)[str(key)] : undefined;
    }
    case 'slice': {
      const obj = ev(e.obj);
      if (!Array.isArray(obj) && typeof obj !== 'string') return fail('slicing needs a list or a string');
      const items = Array.from(obj as ArrayLike<Value>);
      const step = e.step ? Number(ev(e.step)) : 1;
      const norm = (x: Expr | undefined, dflt: number) => { if (!x) return dflt; const n = Number(ev(x)); return n < 0 ? Math.max(0, items.length + n) : Math.min(n, items.length); };
      const out: Value[] = [];
      if (step > 0) for (let i = norm(e.start, 0); i < norm(e.stop, items.length); i += step) out.push(items[i]);
      else for (let i = e.start ? norm(e.start, 0) : items.length - 1; i > (e.stop ? norm(e.stop, 0) : -1); i += step) out.push(items[i]);
      return typeof obj === 'string' ? out.join('') : out;
    }
    case 'call': {
      const args = e.args.map((a) => ev(a) ?? null);
      const kwargs = Object.fromEntries(e.kwargs.map(([k, v]) => [k, ev(v) ?? null]));
      if (e.fn.k === 'attr') return callMethod(ev(e.fn.obj) ?? null, e.fn.name, args);
      if (e.fn.k !== 'var') return fail('only named functions and methods can be called');
      if (e.fn.name === 'raise_exception') throw new UserError(`chat template: ${str(args[0])}`);
      if (e.fn.name === 'namespace') return { ...kwargs };
      if (e.fn.name === 'range') { const [a, b] = args.length > 1 ? args : [0, args[0]]; return Array.from({ length: Math.max(0, Number(b) - Number(a)) }, (_, i) => Number(a) + i); }
      return fail(`unknown function ${e.fn.name}()`);
    }
    case 'filter': {
      const f = FILTERS[e.name] ?? fail(`unknown filter |${e.name}`);
      return f(ev(e.value), e.args.map((a) => ev(a) ?? null));
    }
    case 'test': {
      const t = TESTS[e.name] ?? fail(`unknown test "is ${e.name}"`);
      return t(ev(e.value)) !== e.negate;
    }
    case 'unary': return e.op === 'not' ? !truthy(ev(e.value)) : -Number(ev(e.value));
    case 'cond': return truthy(ev(e.test)) ? ev(e.then) : e.else ? ev(e.else) : undefined;
    case 'binary': {
      if (e.op === 'and') { const l = ev(e.left); return truthy(l) ? ev(e.right) : l; }
      if (e.op === 'or') { const l = ev(e.left); return truthy(l) ? l : ev(e.right); }
      const l = ev(e.left);
      const r = ev(e.right);
      switch (e.op) {
        case '~': return str(l) + str(r);
        case '+': return Array.isArray(l) && Array.isArray(r) ? [...l, ...r] : typeof l === 'number' && typeof r === 'number' ? l + r : str(l) + str(r);
        case '-': return Number(l) - Number(r);
        case '*': return typeof l === 'string' ? l.repeat(Number(r)) : Number(l) * Number(r);
        case '/': return Number(l) / Number(r);
        case '//': return Math.floor(Number(l) / Number(r));
        case '%': return ((Number(l) % Number(r)) + Number(r)) % Number(r);
        case '==': return JSON.stringify(l ?? null) === JSON.stringify(r ?? null);
        case '!=': return JSON.stringify(l ?? null) !== JSON.stringify(r ?? null);
        case '<': return (l as number) < (r as number);
        case '>': return (l as number) > (r as number);
        case '<=': return (l as number) <= (r as number);
        case '>=': return (l as number) >= (r as number);
        case 'in': return typeof r === 'string' ? r.includes(str(l)) : Array.isArray(r) ? r.some((x) => JSON.stringify(x) === JSON.stringify(l)) : !!r && typeof r === 'object' && str(l) in r;
      }
      return fail(`operator ${e.op}`);
    }
  }
}

function exec(nodes: Node[], scopes: Scope[], out: string[]): void {
  for (const n of nodes) {
    if (n.k === 'text') out.push(n.text);
    else if (n.k === 'out') out.push(str(evaluate(n.expr, scopes)));
    else if (n.k === 'if') {
      const branch = n.branches.find((b) => b.test === null || truthy(evaluate(b.test, scopes)));
      if (branch) exec(branch.body, scopes, out);
    } else if (n.k === 'set') {
      const value = evaluate(n.value, scopes) ?? null;
      if (n.target.k === 'var') scopes[scopes.length - 1].set(n.target.name, value);
      else if (n.target.k === 'attr') {
        const obj = evaluate(n.target.obj, scopes);
        if (!obj || typeof obj !== 'object' || Array.isArray(obj)) fail('{% set x.attr %} needs a namespace');
        (obj as Record<string, Value>)[n.target.name] = value;
      } else fail('{% set %} needs a name');
    } else {
      const iter = evaluate(n.iter, scopes);
      const items: Value[] = Array.isArray(iter) ? iter : iter && typeof iter === 'object' ? Object.keys(iter) : typeof iter === 'string' ? [...iter] : [];
      if (!items.length) exec(n.empty, scopes, out);
      // Jinja's for-loop scope: assignments inside do not leak out (namespaces are how templates carry state).
      items.forEach((item, index) => {
        const scope: Scope = new Map();
        const values = n.names.length > 1 && Array.isArray(item) ? item : [item];
        n.names.forEach((name, j) => scope.set(name, values[j] ?? null));
        scope.set('loop', {
          index: index + 1, index0: index, first: index === 0, last: index === items.length - 1, length: items.length,
          revindex: items.length - index, revindex0: items.length - index - 1,
          previtem: index > 0 ? items[index - 1] : null, nextitem: index < items.length - 1 ? items[index + 1] : null,
        });
        exec(n.body, [...scopes, scope], out);
      });
    }
  }
}

/** Renders a Jinja chat template with the given variables (messages, add_generation_prompt, bos_token, …). */
export function renderTemplate(template: string, vars: Record<string, Value>): string {
  const out: string[] = [];
  exec(parse(template), [new Map(Object.entries(vars))], out);
  return out.join('');
}
