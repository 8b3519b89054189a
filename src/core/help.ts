/**
 * Usage text built from the schemas: `smox --help` (commands, then tools by category),
 * `smox <tool> --help` (summary, description, actions, every flag with its type, default and
 * accepted values) and the tool table `smox ls` prints. Pure functions of plain data, so the
 * workbench and the README check can call them too.
 */
import { describeBounds, describeKind } from './parse-args.js';
import { type ArgSpec, AUTORESOLVE, type ToolDefinition } from './tool.js';

/** A tool as the listings show it. */
export interface ToolSummary {
  name: string;
  category: string;
  summary: string;
  origin: 'builtin' | 'user';
}

/** A command as `smox --help` shows it. */
export interface CommandSummary {
  name: string;
  summary: string;
  usage: string;
}

/** Flags every tool takes besides its own. */
export const GLOBAL_FLAGS: readonly [string, string][] = [
  ['--json', 'print events as JSON lines (one object per line)'],
  ['--debug', 'show stack traces with errors'],
  ['-h, --help', 'show this help'],
];

/** Rows as two aligned columns, the first padded to the widest entry (capped). */
export function columns(rows: readonly [string, string][], indent = '  ', cap = 34): string[] {
  const width = Math.min(cap, Math.max(0, ...rows.map(([a]) => a.length)));
  return rows.map(([a, b]) =>
    a.length > width ? `${indent}${a}\n${indent}${' '.repeat(width)}  ${b}` : `${indent}${a.padEnd(width)}  ${b}`,
  );
}

/** Tools grouped by category (sorted), one aligned block with a blank line between categories. */
export function toolList(tools: readonly ToolSummary[]): string[] {
  const sorted = [...tools].sort((a, b) => a.category.localeCompare(b.category) || a.name.localeCompare(b.name));
  const rows = sorted.map((t): [string, string] => [t.name, t.origin === 'user' ? `${t.summary} (user tool)` : t.summary]);
  const lines = columns(rows, '  ', 28);
  return lines.flatMap((line, i) => (i > 0 && sorted[i].category !== sorted[i - 1].category ? ['', line] : [line]));
}

/** `smox --help`. */
export function mainHelp(opts: { version: string; commands: readonly CommandSummary[]; tools: readonly ToolSummary[] }): string {
  const commandRows = [...opts.commands]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c): [string, string] => [c.usage.startsWith('smox ') ? c.usage.slice(5) : c.name, c.summary]);
  return [
    `smolbox ${opts.version} — a workbench for small language models in the terminal`,
    '',
    'usage:',
    ...columns([
      ['smox', 'open the workbench'],
      ['smox <tool> [action] [--flags]', 'run one step, e.g. smox infer/sampler --prompt "Hi"'],
      ['smox <tool> --help', 'the flags of a tool'],
      ['smox <command> [args]', 'one of the commands below'],
    ]),
    '',
    'commands:',
    ...columns(commandRows),
    '',
    'tools:',
    ...toolList(opts.tools),
    '',
    'flags:',
    ...columns([...GLOBAL_FLAGS, ['--version', 'print the version']]),
    '',
    'Paths left at <AUTO> come from the state (.smolbox/state.json); a tool that succeeds moves',
    'its output model/dataset into the state, so the next tool picks it up.',
  ].join('\n');
}

function quoteDefault(value: unknown): string {
  if (value === null) return 'none';
  if (Array.isArray(value)) return value.length ? value.join(',') : '(empty)';
  if (typeof value === 'string') return value === '' ? '""' : /\s/.test(value) ? JSON.stringify(value) : value;
  return String(value);
}

/** The bracketed note after a flag's help: default, bounds, where AUTO comes from. */
export function flagNote(spec: ArgSpec): string {
  const notes: string[] = [];
  if (spec.required) notes.push('required');
  else if (spec.default === AUTORESOLVE && spec.resolves) {
    notes.push(
      spec.resolves.direction === 'in'
        ? `default: <AUTO> = the state's ${spec.resolves.key}`
        : `default: <AUTO> = the state's ${spec.resolves.key} or a new .smolbox/<uuid>/`,
    );
  } else if (spec.seed && spec.default === null) {
    // The seed's bounds (a uint32) say nothing a person needs; its help says the rest.
    return '[default: random]';
  } else notes.push(`default: ${quoteDefault(spec.default)}`);
  const bounds = describeBounds(spec);
  if (bounds) notes.push(bounds);
  return `[${notes.join('; ')}]`;
}

/** The left column of a flag: `--name TYPE`, or both spellings of a boolean. */
export function flagLabel(name: string, spec: ArgSpec): string {
  if (spec.kind === 'boolean') return `--${name}, --no-${name}`;
  return `--${name} ${describeKind(spec)}`;
}

/** `smox <tool> --help`. */
export function toolHelp(name: string, def: Pick<ToolDefinition, 'summary' | 'description' | 'args' | 'actions'>): string {
  const actions = Object.entries(def.actions ?? {});
  const actionPart = actions.length ? ` [run|${actions.map(([a]) => a).join('|')}]` : '';
  const lines = [`usage: smox ${name}${actionPart} [--flag value …]`, '', def.summary];
  if (def.description) lines.push('', ...def.description.split('\n'));
  if (actions.length) {
    lines.push('', 'actions:', ...columns([['run', 'run the tool (the default)'], ...actions]));
  }
  const flags = Object.entries(def.args).map(([n, spec]): [string, string] => [flagLabel(n, spec), `${spec.help} ${flagNote(spec)}`]);
  lines.push('', 'flags:', ...(flags.length ? columns(flags) : ['  (none)']));
  lines.push('', 'global flags:', ...columns([...GLOBAL_FLAGS]));
  lines.push('', 'Flags also read as --a-b v, --a_b=v; booleans as --flag false; lists as a,b or repeated.');
  return lines.join('\n');
}
