/**
 * Cold start of the one-shot CLI: wall time of `smox state` against bare `node -e 0`, run
 * alternately in a fresh temp directory so both see the same disk cache and CPU state.
 * Prints one JSON line with the medians and their ratio (target ≤ 2.5).
 * Usage: npm run build && npm run bench:cold-start [-- --runs 30]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const runsFlag = process.argv.indexOf('--runs');
const RUNS = runsFlag >= 0 ? Number(process.argv[runsFlag + 1]) : 20;
const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));

function timeMs(args: string[], cwd: string): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.toString().trim()}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-cold-'));
try {
  // One untimed run each warms the disk cache and creates the state `smox state` prints.
  timeMs([cli, 'state'], dir);
  timeMs(['-e', '0'], dir);
  const smox: number[] = [];
  const node: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    smox.push(timeMs([cli, 'state'], dir));
    node.push(timeMs(['-e', '0'], dir));
  }
  const smoxMs = median(smox);
  const nodeMs = median(node);
  const round = (x: number) => Math.round(x * 100) / 100;
  console.log(JSON.stringify({ bench: 'cold-start', runs: RUNS, smox_state_ms: round(smoxMs), node_ms: round(nodeMs), ratio: round(smoxMs / nodeMs) }));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
