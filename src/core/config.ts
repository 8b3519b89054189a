/**
 * User preferences (`smox config`): a few typed keys in `<config dir>/config.json`, written
 * through the `conf` package (atomic writes). The config dir is `SMOLBOX_CONFIG_DIR` when set
 * (tests point it at a temp dir so they never touch the home directory), else the platform's
 * user config dir + `smolbox`. Reading does not go through `conf`: it would create the
 * directory, and every tool run reads the config.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from './tool.js';

type ConfigKind = 'integer' | 'number' | 'boolean';

/** One preference: its type, bounds and what it is for. */
export interface ConfigSpec {
  kind: ConfigKind;
  help: string;
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  gt?: number;
  /** The value when unset; none means "the tool's own default". */
  default?: () => number | boolean;
}

export const CONFIG_SCHEMA: Record<string, ConfigSpec> = {
  threads: { kind: 'integer', min: 1, help: 'compute threads for ONNX Runtime', default: () => os.availableParallelism() },
  temperature: { kind: 'number', gt: 0, help: 'default sampling temperature' },
  top_k: { kind: 'integer', min: 0, help: 'default top-k for sampling (0 = off)' },
  top_p: { kind: 'number', gt: 0, max: 1, help: 'default top-p for sampling' },
  json: { kind: 'boolean', help: 'print JSON lines by default, as with --json', default: () => false },
};

export type ConfigValues = Record<string, number | boolean>;

/** Where config.json lives. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SMOLBOX_CONFIG_DIR) return path.resolve(env.SMOLBOX_CONFIG_DIR);
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Preferences', 'smolbox');
  if (process.platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'smolbox');
  return path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'smolbox');
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(configDir(env), 'config.json');
}

function allowedKeys(): string {
  return Object.keys(CONFIG_SCHEMA).join(', ');
}

/** The spec of a key, or a UserError listing the keys there are. */
export function configSpec(key: string): ConfigSpec {
  const spec = Object.hasOwn(CONFIG_SCHEMA, key) ? CONFIG_SCHEMA[key] : undefined;
  if (!spec) throw new UserError(`unknown config key "${key}"; keys: ${allowedKeys()}`);
  return spec;
}

function bounds(spec: ConfigSpec): string {
  const parts = [];
  if (spec.gt !== undefined) parts.push(`> ${spec.gt}`);
  if (spec.min !== undefined) parts.push(`≥ ${spec.min}`);
  if (spec.max !== undefined) parts.push(`≤ ${spec.max}`);
  return parts.join(' and ');
}

/** Checks a value against its key's spec; returns it or throws a one-line UserError. */
export function checkConfigValue(key: string, value: unknown): number | boolean {
  const spec = configSpec(key);
  if (spec.kind === 'boolean') {
    if (typeof value !== 'boolean') throw new UserError(`config ${key} must be true or false (got ${JSON.stringify(value)})`);
    return value;
  }
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (spec.kind !== 'integer' || Number.isInteger(value)) &&
    (spec.min === undefined || value >= spec.min) &&
    (spec.max === undefined || value <= spec.max) &&
    (spec.gt === undefined || value > spec.gt);
  if (!ok) {
    const what = [spec.kind === 'integer' ? 'an integer' : 'a number', bounds(spec)].filter(Boolean).join(' ');
    throw new UserError(`config ${key} must be ${what} (got ${JSON.stringify(value)})`);
  }
  return value as number;
}

/** Parses the text of `smox config set <key> <text>`. */
export function parseConfigValue(key: string, raw: string): number | boolean {
  const spec = configSpec(key);
  const text = raw.trim().toLowerCase();
  if (spec.kind === 'boolean') {
    if (['true', '1', 'yes', 'on'].includes(text)) return true;
    if (['false', '0', 'no', 'off'].includes(text)) return false;
    throw new UserError(`config ${key} must be true or false (got "${raw}")`);
  }
  const n = text === '' ? NaN : Number(text);
  return checkConfigValue(key, Number.isNaN(n) ? raw : n);
}

/** The values stored in config.json (no defaults); a hand-edited bad value is a UserError. */
export function readStoredConfig(env: NodeJS.ProcessEnv = process.env): ConfigValues {
  const file = configPath(env);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new UserError(`${file} is not valid JSON; fix it or delete it`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${file} is not a JSON object; fix it or delete it`);
  const out: ConfigValues = {};
  for (const [key, value] of Object.entries(raw)) {
    // Keys we do not know (a newer smolbox's, conf's own) are left alone.
    if (!Object.hasOwn(CONFIG_SCHEMA, key)) continue;
    try {
      out[key] = checkConfigValue(key, value);
    } catch (err) {
      throw new UserError(`${file}: ${(err as Error).message}; run \`smox config set ${key} …\` or \`smox config unset ${key}\``);
    }
  }
  return out;
}

/** The preferences a tool sees: stored values over defaults; keys without either are absent. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): ConfigValues {
  const stored = readStoredConfig(env);
  const out: ConfigValues = {};
  for (const [key, spec] of Object.entries(CONFIG_SCHEMA)) {
    if (key in stored) out[key] = stored[key];
    else if (spec.default) out[key] = spec.default();
  }
  return out;
}

async function store(env: NodeJS.ProcessEnv) {
  const { default: Conf } = await import('conf');
  return new Conf<ConfigValues>({ projectName: 'smolbox', cwd: configDir(env) });
}

/** Stores one checked value. */
export async function setConfig(key: string, value: number | boolean, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  checkConfigValue(key, value);
  readStoredConfig(env); // a broken file is reported, not overwritten
  (await store(env)).set(key, value);
}

/** Removes a stored value, so the default applies again. */
export async function unsetConfig(key: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  configSpec(key);
  if (!fs.existsSync(configPath(env))) return;
  (await store(env)).delete(key);
}
