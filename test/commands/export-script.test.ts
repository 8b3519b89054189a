import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import exportCmd from '../../commands/export-script.js';
import initCmd from '../../commands/init.js';
import setCmd from '../../commands/set.js';
import { appendHistory } from '../../src/core/history.js';
import { freshState } from '../../src/core/state.js';
import { UserError } from '../../src/core/tool.js';
import { runCommand } from './run-command.js';

let cwd: string;
beforeEach(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-export-'));
});
afterEach(() => fs.rmSync(cwd, { recursive: true, force: true }));

describe('smox export-script', () => {
  it('prints the script to stdout', async () => {
    await runCommand(initCmd, cwd);
    await runCommand(setCmd, cwd, ['dataset_path', 'my data.txt']);
    const { code, lines } = await runCommand(exportCmd, cwd);
    expect(code).toBe(0);
    const text = lines.join('\n');
    expect(text.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(text.endsWith("smox init\nsmox set dataset_path 'my data.txt'")).toBe(true);
  });

  it('writes an executable file', async () => {
    await runCommand(setCmd, cwd, ['model_path', 'gpt2']);
    const { lines } = await runCommand(exportCmd, cwd, ['replay.sh']);
    expect(lines).toEqual(['wrote replay.sh']);
    const file = path.join(cwd, 'replay.sh');
    expect(fs.statSync(file).mode & 0o111).not.toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/set -euo pipefail\n\nsmox set model_path gpt2\n$/);
  });

  it('uses the tool schema where the tool loads, and records of tools that do not are still written', async () => {
    const S = freshState();
    await appendHistory(cwd, {
      time: S.created_at, kind: 'tool', name: 'gone/tool', args: { model_path: 'gpt2', steps: 3 }, status: 'ok', duration_ms: 1,
      state_before: { ...S, model_path: 'gpt2' }, state_after: { ...S, model_path: 'gpt2' },
    });
    const { lines } = await runCommand(exportCmd, cwd);
    expect(lines.join('\n')).toMatch(/\nsmox gone\/tool --steps 3$/);
  });

  it('refuses an empty history and extra arguments', async () => {
    await expect(runCommand(exportCmd, cwd)).rejects.toThrow(/nothing to export/);
    await runCommand(setCmd, cwd, ['model_path', 'gpt2']);
    await expect(runCommand(exportCmd, cwd, ['a', 'b'])).rejects.toBeInstanceOf(UserError);
  });
});
