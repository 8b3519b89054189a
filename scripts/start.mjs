/**
 * `npm start [-- <smox args>]`: builds when dist/ is missing or older than the sources (.npmrc
 * sets ignore-scripts, so `npm ci` builds nothing), then runs dist/src/cli.js — executed as a
 * program, not through `node`, so its shebang's GLIBC_TUNABLES apply — on this terminal.
 */
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILT_CLI, needsBuild } from './build-freshness.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

if (needsBuild(root)) {
  process.stderr.write('smox: building first (dist/ is missing or older than the sources)\n');
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const child = spawn(path.join(root, BUILT_CLI), process.argv.slice(2), { stdio: 'inherit' });
// Ctrl-C reaches the CLI from the terminal itself (the whole foreground group gets it) and the
// CLI decides what it means; this process waits for it. Signals sent to this process alone pass on.
process.on('SIGINT', () => {});
for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('error', (err) => {
  process.stderr.write(`smox: error: cannot run ${BUILT_CLI}: ${err.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => process.exit(code ?? 128 + (os.constants.signals[signal] ?? 0)));
