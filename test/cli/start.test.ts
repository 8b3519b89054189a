/**
 * `npm start`: scripts/start.mjs builds only when dist/ is missing or older than the sources
 * (the staleness rule, on a made-up tree), then runs the built CLI with its arguments and exit
 * code passed through.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { needsBuild } from '../../scripts/build-freshness.mjs';
import { ensureBuilt, repoRoot } from './built-cli.js';

/** A package tree with the given files, each at the given mtime (seconds). */
function tree(files: Record<string, number>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-start-'));
  for (const [rel, mtime] of Object.entries(files)) {
    const full = path.join(root, rel);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, '');
    fs.utimesSync(full, mtime, mtime);
  }
  return root;
}

describe('needsBuild', () => {
  const built = { 'dist/src/cli.js': 2000, 'src/cli.ts': 1000, 'src/tui/App.tsx': 1000, 'tools/io/importer.ts': 1000, 'tsconfig.json': 1000 };

  it('is false when the built CLI is newer than every source', () => {
    expect(needsBuild(tree(built))).toBe(false);
  });

  it('is true without dist/', () => {
    const { 'dist/src/cli.js': _cli, ...sources } = built;
    expect(needsBuild(tree(sources))).toBe(true);
  });

  it('is true when any source is newer, .tsx and nested directories included, or the compiler settings', () => {
    expect(needsBuild(tree({ ...built, 'src/tui/App.tsx': 3000 }))).toBe(true);
    expect(needsBuild(tree({ ...built, 'commands/deep/er/history.ts': 3000 }))).toBe(true);
    expect(needsBuild(tree({ ...built, 'bench/train.ts': 3000 }))).toBe(true);
    expect(needsBuild(tree({ ...built, 'tsconfig.json': 3000 }))).toBe(true);
  });

  it('ignores files the build does not read', () => {
    expect(needsBuild(tree({ ...built, 'README.md': 3000, 'test/cli/x.test.ts': 3000, 'src/notes.txt': 3000 }))).toBe(false);
  });
});

describe('scripts/start.mjs', () => {
  const start = path.join(repoRoot, 'scripts', 'start.mjs');

  it('runs the built CLI with the arguments given, without building when dist/ is fresh', () => {
    ensureBuilt();
    const r = spawnSync(process.execPath, [start, '--version'], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/\d+\.\d+\.\d+/);
    expect(r.stderr).not.toContain('building');
  });

  it('passes the CLI’s exit code on', () => {
    ensureBuilt();
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-start-run-'));
    const r = spawnSync(process.execPath, [start, 'get', 'colour'], { cwd, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('colour');
  });
});
