import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { breakLock, STALE_MS, UNREADABLE_STALE_MS, withLock } from '../../src/core/lock.js';
import { readState } from '../../src/core/state.js';
import { ensureBuilt, repoRoot } from '../cli/built-cli.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-lock-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('withLock in one process', () => {
  it('runs the function, returns its value and removes the lock file', async () => {
    const lock = path.join(dir, 'x.lock');
    const value = await withLock(lock, () => {
      expect(JSON.parse(fs.readFileSync(lock, 'utf8'))).toMatchObject({ pid: process.pid });
      return 42;
    });
    expect(value).toBe(42);
    expect(fs.existsSync(lock)).toBe(false);
  });

  it('removes the lock when the function throws', async () => {
    const lock = path.join(dir, 'x.lock');
    await expect(withLock(lock, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(fs.existsSync(lock)).toBe(false);
  });

  it('serialises overlapping holders', async () => {
    const lock = path.join(dir, 'x.lock');
    const order: string[] = [];
    let releaseFirst!: () => void;
    const gate = new Promise<void>((r) => (releaseFirst = r));
    const first = withLock(lock, async () => {
      order.push('first:start');
      await gate;
      order.push('first:end');
    });
    const second = withLock(lock, () => order.push('second'));
    // The second waits on the file, which the first holds until the gate opens.
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['first:start']);
    releaseFirst();
    await Promise.all([first, second]);
    expect(order).toEqual(['first:start', 'first:end', 'second']);
  });

  it('breaks a lock whose holder is dead', async () => {
    const lock = path.join(dir, 'x.lock');
    fs.writeFileSync(lock, JSON.stringify({ pid: deadPid(), host: os.hostname(), time: new Date().toISOString(), token: 'dead' }));
    expect(await withLock(lock, () => 'taken')).toBe('taken');
    expect(fs.existsSync(lock)).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('leaves the lock a newcomer took while a waiter judged the previous holder gone', () => {
    // The interleaving that lost updates on a loaded machine: a waiter reads holder A's lock, A
    // releases and exits, B takes the lock, then the waiter finds A's pid dead.
    const lock = path.join(dir, 'x.lock');
    const lockOf = (pid: number, token: string) => JSON.stringify({ pid, host: os.hostname(), time: new Date().toISOString(), token });
    fs.writeFileSync(lock, lockOf(deadPid(), 'A'));
    const real = fs.readFileSync;
    let swapped = false;
    const spy = vi.spyOn(fs, 'readFileSync').mockImplementation(((file: fs.PathOrFileDescriptor, o?: unknown) => {
      const text = real(file, o as never);
      if (file === lock && !swapped) {
        swapped = true;
        fs.writeFileSync(lock, lockOf(process.pid, 'B')); // right after the waiter read A's lock
      }
      return text;
    }) as never);
    try {
      breakLock(lock);
    } finally {
      spy.mockRestore();
    }
    expect(swapped).toBe(true);
    expect(JSON.parse(fs.readFileSync(lock, 'utf8'))).toMatchObject({ token: 'B' });
    expect(fs.readdirSync(dir)).toEqual(['x.lock']);
  });

  it('gets past the guard of a breaker that was killed mid-break', async () => {
    const lock = path.join(dir, 'x.lock');
    const dead = JSON.stringify({ pid: deadPid(), host: os.hostname(), time: new Date().toISOString(), token: 'dead' });
    fs.writeFileSync(lock, dead);
    fs.writeFileSync(`${lock}.break`, dead);
    expect(await withLock(lock, () => 'taken')).toBe('taken');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('breaks a lock older than the stale age even when its pid answers', async () => {
    const lock = path.join(dir, 'x.lock');
    fs.writeFileSync(lock, JSON.stringify({ pid: process.ppid, host: os.hostname(), time: 'long ago', token: 'old' }));
    const old = (Date.now() - STALE_MS - 5_000) / 1000;
    fs.utimesSync(lock, old, old);
    expect(await withLock(lock, () => 'taken')).toBe('taken');
  });

  it('breaks an empty lock file only once it is old (a holder may not have written it yet)', async () => {
    const lock = path.join(dir, 'x.lock');
    fs.writeFileSync(lock, '');
    const old = (Date.now() - STALE_MS - 5_000) / 1000;
    fs.utimesSync(lock, old, old);
    expect(await withLock(lock, () => 'taken')).toBe('taken');
  });

  it('breaks an empty lock file a second old at once (what a full disk left), without waiting out the stale age', async () => {
    const lock = path.join(dir, 'x.lock');
    fs.writeFileSync(lock, '');
    const old = (Date.now() - 2_000) / 1000; // past UNREADABLE_STALE_MS, far below STALE_MS
    expect(UNREADABLE_STALE_MS).toBeLessThan(2_000);
    fs.utimesSync(lock, old, old);
    // With the 30 s stale age this waits 30 s and fails the test's timeout.
    expect(await withLock(lock, () => 'taken')).toBe('taken');
  }, 10_000);

  it('on a full disk leaves no lock file behind and names the lock', async () => {
    const lock = path.join(dir, 'x.lock');
    const real = fs.writeFileSync;
    const spy = vi.spyOn(fs, 'writeFileSync').mockImplementation(((file: fs.PathOrFileDescriptor, data: string, o: fs.WriteFileOptions) => {
      real(file, '', o); // the file is created, then the write fails
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }) as never);
    const spy2 = vi.spyOn(fs, 'writeSync').mockImplementation(() => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    try {
      await expect(withLock(lock, () => 1)).rejects.toThrow(`cannot write ${lock}: the disk is full (ENOSPC)`);
    } finally {
      spy.mockRestore();
      spy2.mockRestore();
    }
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('names a missing directory', async () => {
    await expect(withLock(path.join(dir, 'nope', 'x.lock'), () => 1)).rejects.toThrow(/directory does not exist/);
  });
});

describe('across processes', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  const runChildren = async (script: string, n: number) => {
    const file = path.join(dir, 'child.mjs');
    fs.writeFileSync(file, script);
    const codes = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, [file, String(i)], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
          let stderr = '';
          child.stderr.on('data', (d) => (stderr += d));
          child.on('close', (code) => resolve({ code, stderr }));
        }),
      ),
    );
    return codes;
  };

  it('50 processes incrementing a plain file under withLock lose no update', async () => {
    const lockModule = pathToFileURL(path.join(repoRoot, 'dist', 'src', 'core', 'lock.js')).href;
    const results = await runChildren(
      `import fs from 'node:fs';
import { withLock } from ${JSON.stringify(lockModule)};
await withLock('count.lock', async () => {
  const n = fs.existsSync('count') ? Number(fs.readFileSync('count', 'utf8')) : 0;
  await new Promise((r) => setTimeout(r, 1)); // widen the read-modify-write window
  fs.writeFileSync('count', String(n + 1));
});\n`,
      50,
    );
    expect(results.filter((r) => r.code !== 0)).toEqual([]);
    expect(fs.readFileSync(path.join(dir, 'count'), 'utf8')).toBe('50');
    expect(fs.existsSync(path.join(dir, 'count.lock'))).toBe(false);
  }, 60_000);

  it('50 processes each doing one updateState: a counter and 50 distinct fields, valid JSON', async () => {
    const stateModule = pathToFileURL(path.join(repoRoot, 'dist', 'src', 'core', 'state.js')).href;
    const results = await runChildren(
      `import { updateState } from ${JSON.stringify(stateModule)};
const i = process.argv[2];
await updateState(process.cwd(), (s) => ({ ...s, counter: (s.counter ?? 0) + 1, ['field_' + i]: i, model_path: 'm' + i }));\n`,
      50,
    );
    expect(results.filter((r) => r.code !== 0)).toEqual([]);
    const text = fs.readFileSync(path.join(dir, '.smolbox', 'state.json'), 'utf8');
    const state = JSON.parse(text) as Record<string, unknown>;
    expect(state.counter).toBe(50);
    for (let i = 0; i < 50; i++) expect(state[`field_${i}`]).toBe(String(i));
    expect(state.model_path).toMatch(/^m\d+$/);
    expect(readState(dir)).toMatchObject({ counter: 50 });
    // Nothing left behind: no lock, no temp files.
    expect(fs.readdirSync(path.join(dir, '.smolbox'))).toEqual(['state.json']);
  }, 60_000);
});
