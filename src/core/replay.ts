/**
 * `smox export-script`: the history as a bash script that replays the session, one `smox`
 * line per successful state-changing step. Recorded seeds make the replay deterministic.
 *
 * Outputs flow through the state, not through recorded paths: an argument that AUTORESOLVE
 * filled in (an input equal to the state's value, an output in a fresh `.smolbox/<uuid>`) is
 * left out, so the replay resolves it the same way and makes its own uuids. Where a later
 * step names an earlier step's `.smolbox/<uuid>` explicitly (`smox set model_path
 * .smolbox/…` to go back to an older model), the script captures that output in a shell
 * variable right after the step that made it (`model_1="$(smox get model_path)"`).
 */
import type { HistoryRecord } from './history.js';
import type { SmolboxState } from './state.js';
import { type ArgsSchema, type ArgSpec, STATE_KEYS, type StateKey } from './tool.js';

/** Characters that need no quoting in bash. */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes a word for bash: as is when safe, else in single quotes. */
export function shellQuote(s: string): string {
  if (SAFE.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A number as the parser reads it back (Number(String(n)) === n for every finite double). */
function formatValue(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.map((x) => formatValue(x) ?? '').join(',');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/**
 * The default `--flag value …` text of recorded arguments: every argument in snake_case,
 * booleans as `--name`/`--no-name`, lists comma-joined, nulls left out (unset is the default).
 * A value that starts with `-` is written `--name=value`, so the parser cannot take it for a flag.
 */
export function formatArgs(args: Record<string, unknown>): string {
  const words: string[] = [];
  for (const [name, v] of Object.entries(args)) {
    if (typeof v === 'boolean') {
      words.push(v ? `--${name}` : `--no-${name}`);
      continue;
    }
    const text = formatValue(v);
    if (text === null) continue;
    if (text.startsWith('-') && !/^-\d/.test(text)) words.push(shellQuote(`--${name}=${text}`));
    else words.push(`--${name}`, shellQuote(text));
  }
  return words.join(' ');
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** Something, then `.smolbox/<uuid>`, then maybe a path inside it. */
const IN_SMOLBOX = new RegExp(`^(.*?)\\.smolbox[/\\\\](${UUID})([/\\\\].*)?$`, 'i');
const FRESH = new RegExp(`^\\.smolbox[/\\\\]${UUID}[/\\\\]?$`, 'i');

/** A shell variable holding a replayed step's output, with the part below it. */
interface VarRef {
  variable: string;
  suffix: string;
}

/** Options beyond the records themselves. */
export interface ExportOptions {
  /** The argument schema of a tool, when known: it says which arguments resolve from the state. */
  schemaOf?: (tool: string) => ArgsSchema | undefined;
}

/** The record-to-script commands this module knows; other kinds of record are not steps. */
const REPLAYED_COMMANDS = new Set(['init', 'set', 'reset']);

/** Which state key an argument resolves from: the schema's word, or its name when it is a state key. */
function resolvesOf(name: string, schema: ArgsSchema | undefined): ArgSpec['resolves'] {
  if (schema) return schema[name]?.resolves;
  if (!(STATE_KEYS as readonly string[]).includes(name)) return undefined;
  return { key: name as StateKey, direction: name.startsWith('output_') ? 'out' : 'in' };
}

/** Turns a history into a bash script; `argLine` writes a tool record's `--flag value …` part. */
export function exportScript(
  records: HistoryRecord[],
  argLine: (r: HistoryRecord) => string = (r) => formatArgs(r.args),
  options: ExportOptions = {},
): string {
  const steps = records.filter((r) => r.status === 'ok' && (r.kind === 'tool' || REPLAYED_COMMANDS.has(r.name)));
  /** Per step: its lines, and capture lines added when a later step needs its output. */
  const blocks: { lines: string[]; captures: string[] }[] = [];
  /** uuid → where it was made: the block and the state key that holds it after the step. */
  const made = new Map<string, { block: number; key: StateKey; variable?: string }>();
  const counters: Record<string, number> = {};

  /** A variable for an earlier output, capturing it after its step; null when no step made it. */
  const reference = (value: string): VarRef | null => {
    const m = IN_SMOLBOX.exec(value);
    const origin = m ? made.get(m[2].toLowerCase()) : undefined;
    if (!m || !origin) return null;
    if (!origin.variable) {
      const stem = origin.key.replace(/_path$/, '');
      counters[stem] = (counters[stem] ?? 0) + 1;
      origin.variable = `${stem}_${counters[stem]}`;
      blocks[origin.block].captures.push(`${origin.variable}="$(smox get ${origin.key})"`);
    }
    return { variable: origin.variable, suffix: m[3] ?? '' };
  };
  const expand = (ref: VarRef) => `"$${ref.variable}"${ref.suffix ? shellQuote(ref.suffix) : ''}`;

  // A session that does not start with init began from some state: set it up first.
  const first = steps[0];
  if (first && first.name !== 'init' && first.state_before) {
    const lines = ['# the state the session started from'];
    for (const key of STATE_KEYS) {
      const v = first.state_before[key];
      if (v === null || v === undefined) continue;
      lines.push(IN_SMOLBOX.test(v) ? `# skipped: smox set ${key} ${shellQuote(v)} (made before this history)` : `smox set ${key} ${shellQuote(v)}`);
    }
    if (lines.length > 1) blocks.push({ lines, captures: [] });
  }

  for (const r of steps) {
    const block = { lines: [] as string[], captures: [] as string[] };
    blocks.push(block);
    if (r.kind === 'command') {
      if (r.name !== 'set') {
        block.lines.push(`smox ${r.name}`);
        continue;
      }
      const key = String(r.args.key);
      const value = r.args.value === null || r.args.value === undefined ? '' : String(r.args.value);
      if (!IN_SMOLBOX.test(value)) {
        block.lines.push(`smox set ${shellQuote(key)} ${shellQuote(value)}`);
        continue;
      }
      const ref = reference(value);
      block.lines.push(ref ? `smox set ${shellQuote(key)} ${expand(ref)}` : `# skipped: smox set ${key} ${shellQuote(value)} (no step in this script makes it)`);
      continue;
    }
    const line = toolLine(r, argLine, options.schemaOf?.(r.name), reference, expand);
    block.lines.push(line);
    // What this step made: fresh uuid paths among its args that the state now holds and that
    // were not its inputs (a step reading an earlier output did not make it).
    for (const v of Object.values(r.args)) {
      if (typeof v !== 'string' || !FRESH.test(v) || !r.state_after) continue;
      const uuid = IN_SMOLBOX.exec(v)![2].toLowerCase();
      if (made.has(uuid) || r.state_before?.model_path === v || r.state_before?.dataset_path === v) continue;
      const key = (['model_path', 'dataset_path', ...STATE_KEYS] as StateKey[]).find((k) => r.state_after?.[k] === v);
      if (key) made.set(uuid, { block: blocks.length - 1, key });
    }
  }

  const body = blocks.flatMap((b) => [...b.lines, ...b.captures]);
  return ['#!/usr/bin/env bash', `# A smolbox session (${steps.length} steps), written by smox export-script.`, '# Run it in an empty directory; outputs go to fresh .smolbox/<uuid> paths.', 'set -euo pipefail', '', ...body, ''].join('\n');
}

/** One tool step's `smox` line, with state-given paths left out and earlier outputs as variables. */
function toolLine(
  r: HistoryRecord,
  argLine: (r: HistoryRecord) => string,
  schema: ArgsSchema | undefined,
  reference: (v: string) => VarRef | null,
  expand: (ref: VarRef) => string,
): string {
  const before: Partial<SmolboxState> = r.state_before ?? {};
  const args: Record<string, unknown> = {};
  const placeholders = new Map<string, string>();
  const unportable: string[] = [];
  for (const [name, v] of Object.entries(r.args)) {
    if (schema?.[name]?.resumes) continue;
    const resolves = resolvesOf(name, schema);
    if (resolves && typeof v === 'string') {
      const fromState = before[resolves.key];
      if (v === fromState) continue; // AUTORESOLVE gives the same in the replay
      if (resolves.direction === 'out' && FRESH.test(v) && !reference(v)) continue; // replay makes its own
    }
    if (typeof v === 'string' && IN_SMOLBOX.test(v)) {
      const ref = reference(v);
      if (!ref) {
        unportable.push(name);
        continue;
      }
      const token = `__smox_ref_${placeholders.size}__`;
      placeholders.set(token, expand(ref));
      args[name] = token;
      continue;
    }
    args[name] = v;
  }
  const head = ['smox', shellQuote(r.name), ...(r.action && r.action !== 'run' ? [shellQuote(r.action)] : [])].join(' ');
  let tail = argLine({ ...r, args });
  for (const [token, text] of placeholders) tail = tail.replace(new RegExp(`'?${token}'?`, 'g'), text);
  const line = tail ? `${head} ${tail}` : head;
  if (unportable.length === 0) return line;
  return `# skipped: --${unportable.join(', --')} named a .smolbox/ path no step in this script makes\n# ${line}`;
}

/**
 * The argument schemas of the tools named in `records`, by name. A tool that no longer loads
 * (a user tool since removed) is simply absent: callers then fall back to the arguments' names.
 */
export async function toolSchemas(records: HistoryRecord[], env: NodeJS.ProcessEnv = process.env): Promise<Map<string, ArgsSchema>> {
  const { loadTool } = await import('./registry.js');
  const schemas = new Map<string, ArgsSchema>();
  for (const name of new Set(records.filter((r) => r.kind === 'tool').map((r) => r.name))) {
    try {
      schemas.set(name, (await loadTool(name, env)).def.args);
    } catch {
      // see above
    }
  }
  return schemas;
}
