/**
 * The built CLI for spawning tests: builds once when dist/ is older than the sources
 * (`npm test` has just built, so then nothing runs twice), tolerating type errors in files
 * still being written elsewhere — tsc emits anyway.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { needsBuild } from '../../scripts/build-freshness.mjs';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const cliPath = path.join(repoRoot, 'dist', 'src', 'cli.js');

export function ensureBuilt(): void {
  if (needsBuild(repoRoot)) spawnSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'ignore' });
  if (!fs.existsSync(cliPath)) throw new Error(`npm run build did not produce ${cliPath}`);
  // post-build sets the bit, but does not run when tsc reported errors.
  fs.chmodSync(cliPath, 0o755);
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `smox …args` in cwd and collects its output. */
export function smox(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
