/**
 * Tab completion for the workbench's command line: tool names (`tr` → `train/`,
 * `transform/`), command names, the flags of the tool being typed, choice values, state keys
 * after `set`/`get`, and file paths. A pure function of the line and what the caller knows
 * (tools, commands, models in the cache); only path completion reads the disk.
 */
import fs from 'node:fs';
import path from 'node:path';
import { flagKey, scanCommandLine } from './parse-args.js';
import { type ArgSpec, STATE_KEYS, type ToolDefinition } from './tool.js';

/** What completion can offer besides the schemas. */
export interface CompletionSources {
  tools: readonly { name: string; def: Pick<ToolDefinition, 'args' | 'actions'> }[];
  commands: readonly string[];
  /** Directory relative paths are read from. */
  cwd: string;
  /** Model names beyond paths: `builtin:` models, hub ids in the cache. */
  models?: () => readonly string[];
  /** Dataset names beyond paths: `builtin:` datasets, hub ids in the cache. */
  datasets?: () => readonly string[];
  /** Parameter names of the loaded model (for --deltas, --param_pattern). */
  paramNames?: () => readonly string[];
}

export interface Completion {
  /** Whole replacements for the word being completed, sorted. */
  candidates: string[];
  /** The longest prefix all candidates share: what Tab can insert at once. */
  common: string;
  /** Where the word being completed starts; the line's [start, cursor) is what gets replaced. */
  start: number;
}

/** Commands whose first argument is a state key. */
const KEY_COMMANDS = ['set', 'get'];
/** Commands whose first argument is a file path. */
const PATH_COMMANDS = ['export-script'];
/** Commands whose first argument is a tool or command name (the workbench's `help <name>`). */
const NAME_COMMANDS = ['help'];

export function commonPrefix(words: readonly string[]): string {
  if (words.length === 0) return '';
  let p = words[0];
  for (const w of words) while (!w.startsWith(p)) p = p.slice(0, -1);
  return p;
}

function finish(candidates: Iterable<string>, word: string, start: number): Completion {
  const list = [...new Set(candidates)].filter((c) => c.startsWith(word)).sort();
  return { candidates: list, common: list.length ? commonPrefix(list) : word, start };
}

/** Entries of the directory part of `partial`, directories with a trailing slash. */
export function completePath(partial: string, cwd: string): string[] {
  const slash = partial.lastIndexOf('/');
  const dirPart = slash >= 0 ? partial.slice(0, slash + 1) : '';
  const base = slash >= 0 ? partial.slice(slash + 1) : partial;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.resolve(cwd, dirPart || '.'), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.name.startsWith(base) && (base.startsWith('.') || !e.name.startsWith('.')))
    .map((e) => `${dirPart}${e.name}${e.isDirectory() ? '/' : ''}`);
}

/** Top level: commands, and tool names by category until a slash is typed. */
function completeName(word: string, sources: CompletionSources): string[] {
  const names = sources.tools.map((t) => t.name);
  const tools = word.includes('/')
    ? names
    : names.map((n) => (n.includes('/') ? `${n.slice(0, n.indexOf('/') + 1)}` : n));
  const matches = [...new Set([...tools, ...sources.commands])].filter((c) => c.startsWith(word));
  // A single category left (`infer/`) is as good as its tools: offer those at once.
  if (matches.length === 1 && matches[0].endsWith('/')) return names.filter((n) => n.startsWith(matches[0]));
  return matches;
}

function valuesFor(spec: ArgSpec, word: string, sources: CompletionSources): string[] {
  if (spec.kind === 'boolean') return ['true', 'false'];
  if (spec.choices) {
    if (spec.kind !== 'list') return [...spec.choices];
    // A list value completes its last comma-separated element.
    const done = word.slice(0, word.lastIndexOf(',') + 1);
    return spec.choices.map((c) => `${done}${c}`);
  }
  switch (spec.complete) {
    case 'model':
      return [...(sources.models?.() ?? []), ...completePath(word, sources.cwd)];
    case 'dataset':
      return [...(sources.datasets?.() ?? []), ...completePath(word, sources.cwd)];
    case 'param-name':
      return [...(sources.paramNames?.() ?? [])];
    case 'path':
      return completePath(word, sources.cwd);
    default:
      return [];
  }
}

function findTool(name: string, sources: CompletionSources) {
  const exact = sources.tools.find((t) => t.name === name);
  if (exact) return exact;
  const byStem = sources.tools.filter((t) => t.name.split('/').pop() === name);
  return byStem.length === 1 ? byStem[0] : undefined;
}

/** Candidates for the word under the cursor in `line`. */
export function complete(line: string, cursor: number, sources: CompletionSources): Completion {
  const before = line.slice(0, cursor);
  const { words, open } = scanCommandLine(before);
  const fresh = !open && (before.length === 0 || /\s$/.test(before));
  const current = fresh ? { value: '', start: cursor } : words[words.length - 1];
  const done = fresh ? words.map((w) => w.value) : words.slice(0, -1).map((w) => w.value);
  const word = current.value;
  const start = current.start;

  if (done.length === 0) return finish(completeName(word, sources), word, start);

  const [head, ...args] = done;
  if (sources.commands.includes(head)) {
    if (args.length === 0 && KEY_COMMANDS.includes(head)) return finish(STATE_KEYS, word, start);
    if (args.length === 1 && head === 'set') return finish(completePath(word, sources.cwd), word, start);
    if (args.length === 0 && PATH_COMMANDS.includes(head)) return finish(completePath(word, sources.cwd), word, start);
    if (args.length === 0 && NAME_COMMANDS.includes(head)) return finish(completeName(word, sources), word, start);
    return finish([], word, start);
  }

  const tool = findTool(head, sources);
  if (!tool) return finish([], word, start);
  const schema = tool.def.args;

  // `--flag=partial`: values, keeping the `--flag=` in front.
  const eq = word.indexOf('=');
  if (word.startsWith('--') && eq > 0) {
    const spec = schema[flagKey(word.slice(0, eq))];
    if (!spec) return finish([], word, start);
    const prefix = word.slice(0, eq + 1);
    return finish(valuesFor(spec, word.slice(eq + 1), sources).map((v) => prefix + v), word, start);
  }

  // The value of the flag just typed.
  const prev = done[done.length - 1];
  const prevSpec = prev?.startsWith('--') && !prev.includes('=') ? schema[flagKey(prev)] : undefined;
  if (prevSpec && prevSpec.kind !== 'boolean') return finish(valuesFor(prevSpec, word, sources), word, start);
  if (prevSpec?.kind === 'boolean' && !word.startsWith('-')) return finish(['true', 'false'], word, start);

  if (word.startsWith('-')) {
    const given = new Set(done.filter((w) => w.startsWith('--')).map((w) => flagKey(w.split('=')[0])));
    const flags = Object.entries(schema)
      .filter(([name, spec]) => spec.kind === 'list' || !given.has(name))
      .map(([name]) => `--${name}`);
    return finish([...flags, '--help'], word.startsWith('--') ? `--${flagKey(word)}` : word, start);
  }
  if (args.length === 0) return finish(['run', ...Object.keys(tool.def.actions ?? {})], word, start);
  return finish([], word, start);
}
