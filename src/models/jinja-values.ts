/** The values of the chat-template renderer (jinja.ts) and the filters, tests and methods that chat templates call on them. */
import { UserError } from '../core/tool.js';

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

const isMapping = (v: unknown): v is Record<string, Value> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Python's str.strip family: whitespace, or any of `chars`. */
function strip(s: string, chars: Value | undefined, left: boolean, right: boolean): string {
  const set = typeof chars === 'string' ? chars : null;
  const drop = (c: string) => (set === null ? /\s/.test(c) : set.includes(c));
  let a = 0;
  let b = s.length;
  if (left) while (a < b && drop(s[a])) a++;
  if (right) while (b > a && drop(s[b - 1])) b--;
  return s.slice(a, b);
}

/** Python's json.dumps as transformers' tojson calls it (ensure_ascii off; `, ` and `: ` separators, or an indent). */
function toJson(v: Value | undefined, indent: number | null, depth = 0): string {
  if (v === undefined || v === null) return 'null';
  if (typeof v !== 'object') return JSON.stringify(v);
  const pad = indent === null ? '' : `\n${' '.repeat(indent * (depth + 1))}`;
  const end = indent === null ? '' : `\n${' '.repeat(indent * depth)}`;
  const sep = indent === null ? ', ' : ',';
  const parts = Array.isArray(v) ? v.map((x) => toJson(x, indent, depth + 1)) : Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${toJson(x, indent, depth + 1)}`);
  if (!parts.length) return Array.isArray(v) ? '[]' : '{}';
  const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
  return `${open}${pad}${parts.join(sep + pad)}${end}${close}`;
}

export const FILTERS: Record<string, (v: Value | undefined, args: Value[]) => Value | undefined> = {
  trim: (v) => strip(String(v ?? ''), undefined, true, true),
  length: (v) => (Array.isArray(v) || typeof v === 'string' ? v.length : isMapping(v) ? Object.keys(v).length : 0),
  count: (v, a) => FILTERS.length(v, a),
  upper: (v) => String(v ?? '').toUpperCase(),
  lower: (v) => String(v ?? '').toLowerCase(),
  capitalize: (v) => { const s = String(v ?? ''); return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase(); },
  title: (v) => String(v ?? '').replace(/\w\S*/g, (w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()),
  string: (v) => (typeof v === 'string' ? v : v === undefined ? '' : toJson(v, null)),
  tojson: (v, [indent]) => toJson(v, typeof indent === 'number' ? indent : null),
  first: (v) => (Array.isArray(v) || typeof v === 'string' ? v[0] : undefined),
  last: (v) => (Array.isArray(v) || typeof v === 'string' ? v[v.length - 1] : undefined),
  default: (v, [d, boolean]) => (v === undefined || (boolean === true && !v) ? d : v),
  d: (v, a) => FILTERS.default(v, a),
  join: (v, [sep]) => (Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : String(x))).join(typeof sep === 'string' ? sep : '') : String(v ?? '')),
  replace: (v, [a, b]) => String(v ?? '').split(String(a)).join(String(b)),
  list: (v) => (Array.isArray(v) ? v : typeof v === 'string' ? [...v] : isMapping(v) ? Object.keys(v) : []),
  reverse: (v) => (Array.isArray(v) ? [...v].reverse() : typeof v === 'string' ? [...v].reverse().join('') : v),
  items: (v) => (isMapping(v) ? Object.entries(v) : []),
};

export const TESTS: Record<string, (v: Value | undefined) => boolean> = {
  defined: (v) => v !== undefined,
  undefined: (v) => v === undefined,
  none: (v) => v === null,
  string: (v) => typeof v === 'string',
  number: (v) => typeof v === 'number',
  integer: (v) => Number.isInteger(v),
  boolean: (v) => typeof v === 'boolean',
  true: (v) => v === true,
  false: (v) => v === false,
  mapping: (v) => isMapping(v),
  sequence: (v) => Array.isArray(v) || typeof v === 'string',
  iterable: (v) => Array.isArray(v) || typeof v === 'string' || isMapping(v),
  even: (v) => Number(v) % 2 === 0,
  odd: (v) => Math.abs(Number(v) % 2) === 1,
};

/** `obj.name(args)`: Python's str methods and dict.items/keys/values/get. */
export function callMethod(obj: Value, name: string, args: Value[]): Value {
  if (typeof obj === 'string') {
    switch (name) {
      case 'strip': return strip(obj, args[0], true, true);
      case 'lstrip': return strip(obj, args[0], true, false);
      case 'rstrip': return strip(obj, args[0], false, true);
      case 'startswith': return obj.startsWith(String(args[0]));
      case 'endswith': return obj.endsWith(String(args[0]));
      case 'upper': return obj.toUpperCase();
      case 'lower': return obj.toLowerCase();
      case 'title': return FILTERS.title(obj, []) as string;
      case 'capitalize': return FILTERS.capitalize(obj, []) as string;
      case 'replace': return obj.split(String(args[0])).join(String(args[1]));
      case 'split': return typeof args[0] === 'string' ? obj.split(args[0]) : obj.split(/\s+/).filter((s) => s.length > 0);
    }
  } else if (isMapping(obj)) {
    switch (name) {
      case 'items': return Object.entries(obj);
      case 'keys': return Object.keys(obj);
      case 'values': return Object.values(obj);
      case 'get': { const key = String(args[0]); return key in obj ? obj[key] : args[1] ?? null; }
    }
  }
  throw new UserError(`chat template: no method ${name}() on ${Array.isArray(obj) ? 'a list' : typeof obj}`);
}
