import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshCursor, historyFile, loadLines, saveLine, walk } from '../../src/tui/line-history.js';

describe('line history', () => {
  it('lives in the config dir and survives a restart, without blanks or repeats', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-lh-'));
    const file = historyFile({ SMOLBOX_CONFIG_DIR: dir });
    expect(file).toBe(path.join(dir, 'workbench_history'));
    let entries = loadLines(file);
    expect(entries).toEqual([]);
    for (const line of ['state', 'state', '  ', 'ls']) entries = saveLine(file, entries, line);
    expect(entries).toEqual(['state', 'ls']);
    expect(loadLines(file)).toEqual(['state', 'ls']);
  });

  it('walks up to the oldest and down back to the draft', () => {
    const entries = ['a', 'b'];
    let c = freshCursor(entries);
    let r = walk(entries, c, 'dra', 'up');
    expect(r.value).toBe('b');
    r = walk(entries, r.cursor, r.value, 'up');
    expect(r.value).toBe('a');
    r = walk(entries, r.cursor, r.value, 'up');
    expect(r.value).toBe('a');
    r = walk(entries, r.cursor, r.value, 'down');
    expect(r.value).toBe('b');
    r = walk(entries, r.cursor, r.value, 'down');
    expect(r.value).toBe('dra');
    c = r.cursor;
    expect(walk(entries, c, 'dra', 'down').value).toBe('dra');
  });
});
