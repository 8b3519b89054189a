/**
 * One argument parser for the one-shot CLI and the workbench: a tool's ArgsSchema and the
 * argv after the tool name in, the full values object (defaults filled) out. Every error is a
 * one-line UserError that names the flag and says what is accepted, raised before anything runs.
 */
import { type ArgSpec, type ArgsSchema, UserError } from './tool.js';

/** What a tool needs to be parsed against: its schema and its extra actions. */
export interface ParseTarget {
  args: ArgsSchema;
  actions?: Record<string, string>;
}

export interface ParsedArgs {
  /** `run` unless another declared action came first (`smox infer/tweaker list`). */
  action: string;
  /** Every argument of the schema: given values parsed, the rest at their defaults. */
  values: Record<string, unknown>;
  /** Names (schema spelling) of the flags given on the command line. */
  given: string[];
  /** `--help` or `-h` was given: the caller prints usage and runs nothing. */
  help: boolean;
}

const TRUE_WORDS = ['true', '1', 'yes'];
const FALSE_WORDS = ['false', '0', 'no'];
/** Decimal numbers only: `1e-4`, `.5`, `-3` — not `0x10`, `Infinity` or the empty string. */
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
/** Words that set an argument whose default is null back to "unset". */
const NULL_WORDS = ['none', 'null'];

/** `--num-layers` and `--num_layers` name the same argument. */
export function flagKey(flag: string): string {
  return flag.replace(/^--?/, '').replace(/-/g, '_');
}

function boolWord(raw: string): boolean | undefined {
  const w = raw.toLowerCase();
  if (TRUE_WORDS.includes(w)) return true;
  if (FALSE_WORDS.includes(w)) return false;
  return undefined;
}

/** Human words for the accepted values of an argument, used in errors and --help. */
export function describeBounds(spec: ArgSpec): string {
  const parts: string[] = [];
  if (spec.gt !== undefined) parts.push(`> ${spec.gt}`);
  if (spec.min !== undefined) parts.push(`≥ ${spec.min}`);
  if (spec.max !== undefined) parts.push(`≤ ${spec.max}`);
  return parts.join(' and ');
}

function checkBounds(name: string, spec: ArgSpec, n: number, raw: string): void {
  const low = (spec.gt !== undefined && !(n > spec.gt)) || (spec.min !== undefined && n < spec.min);
  const high = spec.max !== undefined && n > spec.max;
  if (low || high) {
    throw new UserError(`--${name} must be ${describeBounds(spec)} (got ${raw})`);
  }
}

function checkChoice(name: string, spec: ArgSpec, value: string | number, raw: string): void {
  if (spec.choices && !spec.choices.includes(String(value))) {
    throw new UserError(`--${name} must be one of ${spec.choices.join(', ')} (got "${raw}")`);
  }
}

function parseNumber(name: string, spec: ArgSpec, raw: string, integer: boolean): number {
  const what = integer ? 'an integer' : 'a number';
  const n = Number(raw.trim());
  if (!NUMBER_RE.test(raw.trim()) || !Number.isFinite(n)) {
    throw new UserError(`--${name} expects ${what} (got "${raw}")`);
  }
  if (integer && !Number.isSafeInteger(n)) {
    throw new UserError(`--${name} expects an integer (got "${raw}")`);
  }
  checkBounds(name, spec, n, raw);
  checkChoice(name, spec, n, raw);
  return n;
}

/** Parses one element (or the whole value of a scalar argument) from its text. */
function parseScalar(name: string, spec: ArgSpec, raw: string): unknown {
  if (spec.default === null && NULL_WORDS.includes(raw.toLowerCase())) return null;
  switch (spec.kind) {
    case 'string':
      return raw;
    case 'number':
      return parseNumber(name, spec, raw, false);
    case 'integer':
      return parseNumber(name, spec, raw, true);
    case 'boolean': {
      const b = boolWord(raw);
      if (b === undefined) {
        throw new UserError(`--${name} expects true or false (also yes/no, 1/0) (got "${raw}")`);
      }
      return b;
    }
    case 'choice':
      checkChoice(name, spec, raw, raw);
      return raw;
    case 'list':
      return parseListElement(name, spec, raw);
  }
}

function parseListElement(name: string, spec: ArgSpec, raw: string): string | number {
  const of = spec.of ?? 'string';
  if (of === 'string') {
    checkChoice(name, spec, raw, raw);
    return raw;
  }
  return parseNumber(name, { ...spec, kind: of }, raw, of === 'integer');
}

/** `--layers a,b --layers c` → [a, b, c]; empty pieces are dropped so `--layers ""` is []. */
function splitList(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** A token that starts a flag rather than being a value (negative numbers are values). */
function looksLikeFlag(token: string): boolean {
  return token.startsWith('--') || (token.startsWith('-') && !NUMBER_RE.test(token) && token.length > 1);
}

function unknownFlag(flag: string, schema: ArgsSchema): UserError {
  const key = flagKey(flag.split('=')[0]);
  const names = Object.keys(schema);
  const booleans = names.filter((n) => schema[n].kind === 'boolean').map((n) => `no_${n}`);
  const guess = closest(key, [...names, ...booleans]);
  const hint = guess ? `; did you mean --${guess}?` : names.length ? '; see --help for the flags' : '; this tool takes no flags';
  return new UserError(`unknown flag ${flag.split('=')[0]}${hint}`);
}

/**
 * Parses `argv` (everything after the tool name) against a tool's schema.
 * Accepts `--a_b v`, `--a-b v`, `--a_b=v`, `--flag`, `--no-flag`, `--flag false|true|0|1|yes|no`,
 * lists as `--l a,b` and/or repeated `--l a --l b`, and an optional leading action.
 */
export function parseArgs(target: ParseTarget, argv: readonly string[]): ParsedArgs {
  const schema = target.args;
  const actions = ['run', ...Object.keys(target.actions ?? {})];
  if (argv.includes('--help') || argv.includes('-h')) {
    return { action: 'run', values: defaults(schema), given: [], help: true };
  }
  let i = 0;
  let action = 'run';
  if (argv.length > 0 && !looksLikeFlag(argv[0]) && actions.includes(argv[0])) {
    action = argv[0];
    i = 1;
  }
  const values = defaults(schema);
  const given = new Set<string>();
  /** A boolean flag just given without a value: a word after it was meant as its value. */
  let bareBoolean: string | null = null;
  for (; i < argv.length; i++) {
    const token = argv[i];
    const after = bareBoolean;
    bareBoolean = null;
    if (!looksLikeFlag(token)) {
      if (after) parseScalar(after, schema[after], token);
      const more = actions.length > 1 ? ` (actions: ${actions.join(', ')})` : '';
      throw new UserError(`unexpected argument "${token}": values go after a flag, e.g. --prompt "${token}"${more}`);
    }
    const eq = token.indexOf('=');
    const flag = eq >= 0 ? token.slice(0, eq) : token;
    const inline = eq >= 0 ? token.slice(eq + 1) : undefined;
    if (!flag.startsWith('--')) throw unknownFlag(token, schema);
    let name = flagKey(flag);
    let spec: ArgSpec | undefined = schema[name];
    let negated = false;
    if (!spec && name.startsWith('no_') && schema[name.slice(3)]?.kind === 'boolean') {
      name = name.slice(3);
      spec = schema[name];
      negated = true;
    }
    if (!spec) throw unknownFlag(token, schema);
    if (spec.kind === 'boolean') {
      if (negated && inline !== undefined) {
        throw new UserError(`--no-${name} takes no value; write --${name} ${inline} instead`);
      }
      let value = !negated;
      if (inline !== undefined) {
        value = parseScalar(name, spec, inline) as boolean;
      } else if (!negated && i + 1 < argv.length && boolWord(argv[i + 1]) !== undefined) {
        value = boolWord(argv[++i])!;
      } else if (!negated) {
        bareBoolean = name;
      }
      values[name] = value;
      given.add(name);
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      if (i + 1 >= argv.length || looksLikeFlag(argv[i + 1])) {
        throw new UserError(`--${name} needs a value (${describeKind(spec)})`);
      }
      raw = argv[++i];
    }
    if (spec.kind === 'list') {
      const items = splitList(raw).map((piece) => parseListElement(name, spec!, piece));
      values[name] = given.has(name) ? [...(values[name] as unknown[]), ...items] : items;
    } else {
      values[name] = parseScalar(name, spec, raw);
    }
    given.add(name);
  }
  for (const [name, spec] of Object.entries(schema)) {
    if (spec.required && values[name] === undefined) {
      throw new UserError(`--${name} is required (${describeKind(spec)})`);
    }
  }
  return { action, values, given: [...given], help: false };
}

/** The values object of a schema with nothing given. */
export function defaults(schema: ArgsSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(schema)) {
    out[name] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
  }
  return out;
}

/** A short word for the value an argument takes: `INT`, `NUM`, `a|b|c`, `LIST` … */
export function describeKind(spec: ArgSpec): string {
  if (spec.choices && spec.kind !== 'list') return spec.choices.join('|');
  switch (spec.kind) {
    case 'string':
      return spec.resolves || spec.complete === 'path' ? 'PATH' : 'TEXT';
    case 'number':
      return 'NUM';
    case 'integer':
      return 'INT';
    case 'boolean':
      return 'true|false';
    case 'choice':
      return (spec.choices ?? []).join('|');
    case 'list': {
      const el = spec.choices ? spec.choices.join('|') : spec.of === 'integer' ? 'INT' : spec.of === 'number' ? 'NUM' : 'TEXT';
      return `${el},…`;
    }
  }
}

/**
 * Splits a workbench command line into words like a POSIX shell would, without expansion:
 * whitespace separates, '…' is literal, "…" honours \" \\ \$ \`, and a backslash outside
 * quotes escapes the next character. An unterminated quote is an error.
 */
export function splitCommandLine(line: string): string[] {
  const { words, open } = scanCommandLine(line);
  if (open) throw new UserError(`unterminated ${open === "'" ? 'single' : 'double'} quote in: ${line}`);
  return words.map((w) => w.value);
}

/** One word of a command line and where it sits (for completion). */
export interface Word {
  value: string;
  /** Index of the word's first character in the line. */
  start: number;
  /** Index just past the word's last character. */
  end: number;
}

/** The lenient scanner behind splitCommandLine: an open quote is reported, not thrown. */
export function scanCommandLine(line: string): { words: Word[]; open: "'" | '"' | null } {
  const words: Word[] = [];
  let cur: Word | null = null;
  let quote: "'" | '"' | null = null;
  const push = (ch: string, at: number) => {
    if (!cur) cur = { value: '', start: at, end: at };
    cur.value += ch;
  };
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote === "'") {
      if (ch === "'") quote = null;
      else push(ch, i);
    } else if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) push(line[++i], i);
      else push(ch, i);
    } else if (/\s/.test(ch)) {
      if (cur) {
        (cur as Word).end = i;
        words.push(cur);
        cur = null;
      }
    } else if (ch === "'" || ch === '"') {
      if (!cur) cur = { value: '', start: i, end: i };
      quote = ch;
    } else if (ch === '\\' && i + 1 < line.length) {
      push(line[++i], i - 1);
    } else {
      push(ch, i);
    }
  }
  if (cur) {
    (cur as Word).end = line.length;
    words.push(cur);
  }
  return { words, open: quote };
}

/** Levenshtein distance: the number of one-character edits between two words. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/**
 * The candidate a mistyped word most likely meant, or undefined when none is close: within
 * a third of the word's length (at least 2 edits), or one containing the other
 * (`--layers` → `--num_layers`).
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  if (best === undefined) return undefined;
  if (bestD <= Math.max(2, Math.floor(word.length / 3))) return best;
  const sub = candidates.find((c) => word.length >= 3 && (c.includes(word) || word.includes(c)));
  return sub;
}
