import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import getCmd from '../../commands/get.js';
import initCmd from '../../commands/init.js';
import resetCmd from '../../commands/reset.js';
import setCmd from '../../commands/set.js';
import stateCmd from '../../commands/state.js';
import { appendHistory, readHistory } from '../../src/core/history.js';
import { readState, stateDir } from '../../src/core/state.js';
import { UserError } from '../../src/core/tool.js';
import { runCommand } from './run-command.js';

let cwd: string;
beforeEach(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-cmd-'));
});
afterEach(() => fs.rmSync(cwd, { recursive: true, force: true }));

describe('set and get', () => {
  it('set writes the key and records the step; get prints it', async () => {
    expect((await runCommand(setCmd, cwd, ['model_path', 'gpt2'])).code).toBe(0);
    expect(readState(cwd)?.model_path).toBe('gpt2');
    expect(readHistory(cwd)).toEqual([
      expect.objectContaining({ kind: 'command', name: 'set', args: { key: 'model_path', value: 'gpt2' }, status: 'ok', state_before: expect.objectContaining({ model_path: null }), state_after: expect.objectContaining({ model_path: 'gpt2' }) }),
    ]);
    expect((await runCommand(getCmd, cwd, ['model_path'])).lines).toEqual(['gpt2']);
    expect((await runCommand(getCmd, cwd, ['model_path'], true)).lines).toEqual(['{"key":"model_path","value":"gpt2"}']);
  });

  it('get prints an empty line for an unset key and creates nothing', async () => {
    expect(await runCommand(getCmd, cwd, ['dataset_path'])).toEqual({ code: 0, lines: [''] });
    expect(fs.existsSync(stateDir(cwd))).toBe(false);
  });

  it.each([
    [setCmd, ['created_at', 'x'], 'unknown state key "created_at"; keys: model_path, output_model_path, dataset_path, output_dataset_path'],
    [getCmd, ['modelpath'], 'unknown state key "modelpath"; keys: model_path, output_model_path, dataset_path, output_dataset_path'],
    [setCmd, ['model_path'], 'set takes a key and a value; usage: smox set <key> <value>'],
    [getCmd, [], 'get takes one key; usage: smox get <key>'],
  ])('usage errors are one line (%#)', async (def, argv, message) => {
    const err = await runCommand(def, cwd, argv).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(message);
    expect(fs.existsSync(stateDir(cwd))).toBe(false);
  });
});

describe('state', () => {
  it('prints state.json as stored, sorted and pretty, keeping unknown keys', async () => {
    fs.mkdirSync(stateDir(cwd));
    const text = '{\n  "created_at": "2025-03-01T10:00:00.1",\n  "dataset_path": null,\n  "extra": 1,\n  "model_path": "gpt2",\n  "output_dataset_path": null,\n  "output_model_path": null,\n  "updated_at": "2025-03-01T10:00:00.1"\n}';
    fs.writeFileSync(path.join(stateDir(cwd), 'state.json'), text);
    expect(await runCommand(stateCmd, cwd)).toEqual({ code: 0, lines: [text] });
  });

  it('prints a fresh state where there is none, and writes nothing', async () => {
    const { lines } = await runCommand(stateCmd, cwd);
    expect(JSON.parse(lines[0])).toMatchObject({ model_path: null, dataset_path: null, output_model_path: null });
    expect(fs.existsSync(stateDir(cwd))).toBe(false);
  });
});

describe('init and reset', () => {
  it('init clears everything and starts the history with itself', async () => {
    await runCommand(setCmd, cwd, ['model_path', 'gpt2']);
    fs.mkdirSync(path.join(stateDir(cwd), 'old-output'));
    expect((await runCommand(initCmd, cwd)).code).toBe(0);
    expect(readState(cwd)?.model_path).toBeNull();
    expect(fs.readdirSync(stateDir(cwd)).sort()).toEqual(['state.json', 'state_history.jsonl']);
    const history = readHistory(cwd);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ kind: 'command', name: 'init', args: {}, status: 'ok', state_before: { model_path: 'gpt2' }, state_after: { model_path: null } });
  });

  it('init repairs a corrupt state.json', async () => {
    fs.mkdirSync(stateDir(cwd));
    fs.writeFileSync(path.join(stateDir(cwd), 'state.json'), '{ nope');
    expect((await runCommand(initCmd, cwd)).code).toBe(0);
    expect(readHistory(cwd)[0].state_before).toBeNull();
  });

  it('reset removes .smolbox/ with its history and says when there was nothing', async () => {
    await runCommand(setCmd, cwd, ['model_path', 'gpt2']);
    await appendHistory(cwd, readHistory(cwd)[0]);
    expect((await runCommand(resetCmd, cwd)).lines[0]).toMatch(/^removed .*\.smolbox$/);
    expect(fs.existsSync(stateDir(cwd))).toBe(false);
    expect((await runCommand(resetCmd, cwd)).lines[0]).toMatch(/^nothing to reset/);
  });

  it('init and reset take no arguments', async () => {
    await expect(runCommand(initCmd, cwd, ['now'])).rejects.toThrow('init takes no arguments (got "now"); usage: smox init');
    await expect(runCommand(resetCmd, cwd, ['--force'])).rejects.toThrow(/reset takes no arguments/);
  });
});
