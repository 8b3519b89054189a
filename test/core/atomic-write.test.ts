import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { replaceDir, writeFileAtomic } from '../../src/core/atomic-write.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-atomic-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

const errno = (code: string) => Object.assign(new Error(`${code}: simulated`), { code });

describe('writeFileAtomic', () => {
  it.each([
    ['ENOSPC', 'the disk is full (ENOSPC); free some space or write somewhere else'],
    ['EACCES', 'permission denied (EACCES); choose a directory you can write to, or fix its permissions'],
    ['EROFS', 'the file system is read-only (EROFS); choose a writable directory'],
  ])('turns %s into one line naming the file, and leaves the old content and no temp file', (code, advice) => {
    const file = path.join(dir, 'state.json');
    fs.writeFileSync(file, 'old');
    vi.spyOn(fs, 'writeSync').mockImplementation(() => {
      throw errno(code);
    });
    expect(() => writeFileAtomic(file, 'new')).toThrow(`cannot write ${file}: ${advice}`);
    vi.restoreAllMocks();
    expect(fs.readdirSync(dir)).toEqual(['state.json']);
    expect(fs.readFileSync(file, 'utf8')).toBe('old');
  });
});

describe('replaceDir', () => {
  it('puts the old directory back when the new one cannot be renamed in', () => {
    const target = path.join(dir, 'model');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'config.json'), 'old');
    const rename = fs.renameSync;
    let calls = 0;
    vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      // The first rename moves the old one aside; the second (new into place) fails.
      if (++calls === 2) throw errno('EIO');
      rename(from, to);
    });
    expect(() => replaceDir(target, (tmp) => fs.writeFileSync(path.join(tmp, 'config.json'), 'new'))).toThrow(/EIO/);
    vi.restoreAllMocks();
    expect(fs.readdirSync(dir)).toEqual(['model']);
    expect(fs.readFileSync(path.join(target, 'config.json'), 'utf8')).toBe('old');
  });
});
