/**
 * Packages that only tests and benchmarks need (llama.cpp, transformers.js, real vocabularies),
 * installed on first use into a cache outside the project, never as the project's dependencies,
 * so a user's `npm ci` stays lean. Each peer gets its own folder: their install flags differ
 * (node-llama-cpp must omit optional CUDA builds; transformers.js needs sharp's optional binary).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const PEERS_DIR = process.env.SMOLBOX_PEERS_DIR ?? path.join(os.homedir(), '.cache', 'smolbox', 'test-peers');

/**
 * Installs `packages` into `folder` (under the peer cache) unless `marker` (relative to it)
 * exists, with install scripts off, so nothing is downloaded besides the packages themselves.
 * Returns the folder, or the one-line reason it could not install.
 */
export function installPeer(folder: string, packages: string[], marker: string, opts: { omitOptional?: boolean } = {}): { dir: string } | { error: string } {
  const dir = path.join(PEERS_DIR, folder);
  if (fs.existsSync(path.join(dir, marker))) return { dir };
  // Test files run in parallel processes and may all install the same peer on a fresh machine:
  // each installs into its own folder beside, and the first complete one is renamed into place.
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  fs.writeFileSync(path.join(tmp, 'package.json'), `{"name":"smolbox-test-peer-${folder || 'root'}","private":true,"type":"module"}`);
  // onnxruntime-node's install script would fetch CUDA binaries even with scripts off in some npm versions.
  fs.writeFileSync(path.join(tmp, '.npmrc'), 'onnxruntime-node-install=skip\n');
  const args = ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...(opts.omitOptional ? ['--omit=optional'] : []), ...packages];
  const r = spawnSync('npm', args, { cwd: tmp, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0 || !fs.existsSync(path.join(tmp, marker))) {
    fs.rmSync(tmp, { recursive: true, force: true });
    return { error: `npm could not install ${packages.join(' ')} into ${dir}: ${(r.stderr || r.error?.message || '').trim().split('\n').at(-1)}` };
  }
  if (fs.existsSync(path.join(dir, marker))) {
    fs.rmSync(tmp, { recursive: true, force: true }); // another process finished first
    return { dir };
  }
  fs.rmSync(dir, { recursive: true, force: true }); // an older, incomplete install
  try {
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(path.join(dir, marker))) return { error: `could not move the install of ${packages.join(' ')} into ${dir}: ${(e as Error).message}` };
  }
  return { dir };
}
