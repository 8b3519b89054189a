/**
 * Where tools and commands come from. Built-in tools are the files `tools/<category>/<name>`
 * and commands the files `commands/<name>`, found by reading the directories next to this
 * module (dist/ when built, the sources under vitest) — there is no hand-kept list. User tools
 * are `.js`/`.mjs` files in the directories of `SMOLBOX_TOOLS_PATH`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { closest } from './parse-args.js';
import { type ToolDefinition, UserError } from './tool.js';

import type { CommandDefinition } from './command.js';

export type { CommandDefinition };

/** A tool found on disk, before its module is imported. */
export interface ToolEntry {
  /** `category/name` for built-ins and user tools in a sub-directory, else the file's name. */
  name: string;
  /** The part before the slash; user tools directly in a tools directory have `user`. */
  category: string;
  /** Absolute path of the module. */
  file: string;
  origin: 'builtin' | 'user';
}

/** A tool with its imported definition. */
export interface LoadedTool extends ToolEntry {
  def: ToolDefinition;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** `.js` when running from dist/, `.ts` when vitest runs the sources. */
const ownExt = path.extname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const USER_EXTS = ['.js', '.mjs'];

function isModule(file: string, exts: readonly string[]): boolean {
  return exts.includes(path.extname(file)) && !file.endsWith('.d.ts') && !/\.test\.[jt]s$/.test(file);
}

function stem(file: string): string {
  return path.basename(file, path.extname(file));
}

function readDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  } catch {
    return [];
  }
}

/** Files `<dir>/<category>/<name>` (and, when `flat`, `<dir>/<name>`) with the given extensions. */
function scanToolDir(dir: string, exts: readonly string[], origin: ToolEntry['origin'], flat: boolean): ToolEntry[] {
  const found: ToolEntry[] = [];
  for (const entry of readDir(dir)) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      for (const inner of readDir(full)) {
        if (inner.isFile() && isModule(inner.name, exts)) {
          found.push({ name: `${entry.name}/${stem(inner.name)}`, category: entry.name, file: path.join(full, inner.name), origin });
        }
      }
    } else if (flat && entry.isFile() && isModule(entry.name, exts)) {
      found.push({ name: stem(entry.name), category: 'user', file: full, origin });
    }
  }
  return found;
}

/** The directories named by SMOLBOX_TOOLS_PATH, in order. */
export function userToolDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.SMOLBOX_TOOLS_PATH ?? '').split(path.delimiter).filter((d) => d.trim() !== '');
}

/**
 * Every tool on disk without importing any: built-ins first, then user tools in
 * SMOLBOX_TOOLS_PATH order. A name seen twice keeps its first file, so a user tool cannot
 * silently replace a built-in that recorded history refers to.
 */
export function listToolEntries(env: NodeJS.ProcessEnv = process.env): ToolEntry[] {
  const all = [
    ...scanToolDir(path.join(root, 'tools'), [ownExt], 'builtin', false),
    ...userToolDirs(env).flatMap((d) => scanToolDir(path.resolve(d), USER_EXTS, 'user', true)),
  ];
  const seen = new Set<string>();
  return all.filter((t) => (seen.has(t.name) ? false : (seen.add(t.name), true)));
}

/** Checks that a module's default export looks like a defineTool result; names the file if not. */
export function validateTool(def: unknown, file: string): ToolDefinition {
  const bad = (why: string) =>
    new UserError(`tool ${file}: ${why}; export default defineTool({ summary, args, run }) from smolbox`);
  if (!def || typeof def !== 'object') throw bad('has no default export object');
  const d = def as Partial<ToolDefinition>;
  if (typeof d.summary !== 'string' || d.summary.trim() === '') throw bad('has no summary string');
  if (typeof d.run !== 'function') throw bad('has no run function');
  if (!d.args || typeof d.args !== 'object') throw bad('has no args object');
  const kinds = ['string', 'number', 'integer', 'boolean', 'choice', 'list'];
  for (const [name, spec] of Object.entries(d.args)) {
    if (!spec || typeof spec !== 'object' || !kinds.includes((spec as { kind?: string }).kind ?? '')) {
      throw bad(`argument "${name}" has no valid kind (${kinds.join(', ')})`);
    }
    if (spec.kind === 'choice' && !Array.isArray(spec.choices)) throw bad(`choice argument "${name}" has no choices`);
  }
  return d as ToolDefinition;
}

async function importTool(entry: ToolEntry): Promise<LoadedTool> {
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(entry.file).href)) as { default?: unknown };
  } catch (e) {
    throw new UserError(`tool ${entry.file} failed to load: ${(e as Error).message.split('\n')[0]}`);
  }
  return { ...entry, def: validateTool(mod.default, entry.file) };
}

/** Every tool with its definition (imports each module; tool modules keep imports cheap). */
export async function listTools(env: NodeJS.ProcessEnv = process.env): Promise<LoadedTool[]> {
  return Promise.all(listToolEntries(env).map(importTool));
}

/**
 * Every tool that loads, and one line per file that does not: listings show what works and
 * name what is broken, rather than a broken user tool hiding all the others.
 */
export async function loadAllTools(env: NodeJS.ProcessEnv = process.env): Promise<{ tools: LoadedTool[]; errors: string[] }> {
  const settled = await Promise.allSettled(listToolEntries(env).map(importTool));
  return {
    tools: settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
    errors: settled.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : [])),
  };
}

/**
 * The entry a name refers to: the full `category/name`, or a bare name that is unique
 * (`sampler` → `infer/sampler`). Undefined when there is none.
 */
export function findTool(name: string, env: NodeJS.ProcessEnv = process.env): ToolEntry | undefined {
  const entries = listToolEntries(env);
  const exact = entries.find((t) => t.name === name);
  if (exact) return exact;
  const byStem = entries.filter((t) => t.name.split('/').pop() === name);
  return byStem.length === 1 ? byStem[0] : undefined;
}

/** Imports one tool by name; an unknown name is a UserError with a suggestion. */
export async function loadTool(name: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedTool> {
  const entry = findTool(name, env);
  if (!entry) {
    const names = listToolEntries(env).map((t) => t.name);
    const guess = closest(name, [...names, ...commandNames()]);
    const hint = guess ? `did you mean ${guess}? ` : '';
    throw new UserError(`unknown tool or command "${name}"; ${hint}(smox ls lists the tools, smox --help the commands)`);
  }
  return importTool(entry);
}

/** Names of the internal commands (`commands/<name>`), without importing them. */
export function commandNames(): string[] {
  return readDir(path.join(root, 'commands'))
    .filter((e) => e.isFile() && isModule(e.name, [ownExt]))
    .map((e) => stem(e.name));
}

/** Imports one command module; undefined when no such command exists. */
export async function loadCommand(name: string): Promise<CommandDefinition | undefined> {
  if (!commandNames().includes(name)) return undefined;
  const file = path.join(root, 'commands', `${name}${ownExt}`);
  const mod = (await import(pathToFileURL(file).href)) as { default?: CommandDefinition };
  if (!mod.default || typeof mod.default.run !== 'function') {
    throw new Error(`command module ${file} has no default export made by defineCommand`);
  }
  return mod.default;
}

/** Every command with its definition, for `smox --help`. */
export async function listCommands(): Promise<{ name: string; def: CommandDefinition }[]> {
  const out: { name: string; def: CommandDefinition }[] = [];
  for (const name of commandNames()) {
    try {
      const def = await loadCommand(name);
      if (def) out.push({ name, def });
    } catch {
      // A half-written command must not take --help down with it; it simply is not listed.
    }
  }
  return out;
}
