import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import configCmd from '../../commands/config.js';
import { configPath, parseConfigValue, readConfig } from '../../src/core/config.js';
import { UserError } from '../../src/core/tool.js';
import { runCommand } from './run-command.js';

let dir: string;
let saved: string | undefined;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-config-'));
  saved = process.env.SMOLBOX_CONFIG_DIR;
  process.env.SMOLBOX_CONFIG_DIR = path.join(dir, 'cfg');
});
afterEach(() => {
  if (saved === undefined) delete process.env.SMOLBOX_CONFIG_DIR;
  else process.env.SMOLBOX_CONFIG_DIR = saved;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('config values', () => {
  it('has defaults for threads and json, nothing for sampling, and reads without creating anything', () => {
    expect(readConfig()).toEqual({ threads: os.availableParallelism(), json: false });
    expect(fs.existsSync(path.join(dir, 'cfg'))).toBe(false);
  });

  it.each([
    ['threads', '4', 4],
    ['temperature', '0.7', 0.7],
    ['top_k', '0', 0],
    ['top_p', '1', 1],
    ['json', 'yes', true],
    ['json', 'false', false],
  ])('%s %s parses', (key, raw, value) => {
    expect(parseConfigValue(key, raw)).toBe(value);
  });

  it.each([
    ['threads', '0', 'config threads must be an integer ≥ 1 (got 0)'],
    ['threads', '1.5', 'config threads must be an integer ≥ 1 (got 1.5)'],
    ['temperature', '0', 'config temperature must be a number > 0 (got 0)'],
    ['top_p', '1.5', 'config top_p must be a number > 0 and ≤ 1 (got 1.5)'],
    ['top_k', 'many', 'config top_k must be an integer ≥ 0 (got "many")'],
    ['json', 'maybe', 'config json must be true or false (got "maybe")'],
    ['colour', '1', 'unknown config key "colour"; keys: threads, temperature, top_k, top_p, json'],
  ])('%s %s is a one-line error', (key, raw, message) => {
    expect(() => parseConfigValue(key, raw)).toThrow(UserError);
    expect(() => parseConfigValue(key, raw)).toThrow(message);
  });
});

describe('smox config', () => {
  it('set, get, list and unset', async () => {
    expect((await runCommand(configCmd, dir, ['set', 'top_p', '0.9'])).lines).toEqual(['top_p = 0.9']);
    expect(JSON.parse(fs.readFileSync(configPath(), 'utf8'))).toMatchObject({ top_p: 0.9 });
    expect((await runCommand(configCmd, dir, ['get', 'top_p'])).lines).toEqual(['0.9']);
    expect(readConfig()).toMatchObject({ top_p: 0.9 });

    const list = (await runCommand(configCmd, dir)).lines;
    expect(list.find((l) => l.startsWith('top_p'))).toMatch(/^top_p\s+0\.9 {2}—/);
    expect(list.find((l) => l.startsWith('threads'))).toMatch(/\(default\)/);
    expect(list.find((l) => l.startsWith('temperature'))).toMatch(/\(unset\)/);
    expect(JSON.parse((await runCommand(configCmd, dir, [], true)).lines[0])).toMatchObject({ top_p: 0.9, json: false });

    expect((await runCommand(configCmd, dir, ['unset', 'top_p'])).lines).toEqual(['top_p unset']);
    expect(readConfig().top_p).toBeUndefined();
    expect((await runCommand(configCmd, dir, ['unset', 'threads'])).lines[0]).toMatch(/^threads unset \(default \d+\)$/);
  });

  it('a bad value changes nothing', async () => {
    await runCommand(configCmd, dir, ['set', 'threads', '2']);
    await expect(runCommand(configCmd, dir, ['set', 'threads', '-1'])).rejects.toThrow(/threads must be an integer ≥ 1/);
    expect(readConfig().threads).toBe(2);
  });

  it('a hand-broken file is named, not overwritten', async () => {
    fs.mkdirSync(path.join(dir, 'cfg'));
    fs.writeFileSync(configPath(), '{"threads": "lots"}');
    expect(() => readConfig()).toThrow(/config\.json: config threads must be an integer ≥ 1 \(got "lots"\); run `smox config set threads …`/);
    await expect(runCommand(configCmd, dir, ['set', 'top_k', '5'])).rejects.toThrow(UserError);
    expect(fs.readFileSync(configPath(), 'utf8')).toBe('{"threads": "lots"}');
  });

  it('usage errors', async () => {
    await expect(runCommand(configCmd, dir, ['frob'])).rejects.toThrow('unknown config action "frob"; usage: smox config [get <key> | set <key> <value> | unset <key>]');
    await expect(runCommand(configCmd, dir, ['set', 'threads'])).rejects.toThrow('usage: smox config set <key> <value>');
    await expect(runCommand(configCmd, dir, ['get', 'nope'])).rejects.toThrow(/unknown config key "nope"/);
  });
});
