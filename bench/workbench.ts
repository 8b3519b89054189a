/**
 * Per-step overhead of the workbench: everything a step costs outside the tool's own compute —
 * the message to the engine worker, loading the tool, reading the state, the lock, the history
 * record, the events back. Runs a command (`get`), a tool that does nothing, and a tool that
 * streams 2,000 tokens through the real worker bridge, and the do-nothing tool through runTool
 * on this thread for comparison. Prints one JSON line; the target is < 100 ms a step.
 * Usage: npm run build && npm run bench:workbench [-- --runs 50]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTool } from '../src/engine/run-tool.js';
import { createWorkerBridge, type EngineBridge } from '../src/engine/worker-bridge.js';

const runsFlag = process.argv.indexOf('--runs');
const RUNS = runsFlag >= 0 ? Number(process.argv[runsFlag + 1]) : 50;
const WARMUP = 5;
const TOKENS = 2000;
const TARGET_MS = 100;

const NOOP = `export default { summary: 'do nothing', args: {}, async run() { return {}; } };\n`;
const STREAM = `export default {
  summary: 'stream tokens',
  args: {},
  async run(ctx) { for (let i = 0; i < ${TOKENS}; i++) ctx.emit.token('x'); return {}; },
};\n`;

function stats(xs: number[]): { median: number; p95: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  const round = (x: number) => Math.round(x * 100) / 100;
  return { median: round(at(0.5)), p95: round(at(0.95)) };
}

async function timeSteps(bridge: EngineBridge, words: string[], cwd: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const t0 = performance.now();
    const { outcome } = await bridge.step(words, cwd, () => {});
    const ms = performance.now() - t0;
    if (!outcome.ok) throw new Error(`${words.join(' ')} failed: ${outcome.error}`);
    if (i >= WARMUP) times.push(ms);
  }
  return times;
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-bench-wb-'));
const cwd = path.join(root, 'work');
const toolsDir = path.join(root, 'tools');
fs.mkdirSync(cwd);
fs.mkdirSync(path.join(toolsDir, 'bench'), { recursive: true });
fs.writeFileSync(path.join(toolsDir, 'bench', 'noop.mjs'), NOOP);
fs.writeFileSync(path.join(toolsDir, 'bench', 'stream.mjs'), STREAM);
const env = { ...process.env, SMOLBOX_TOOLS_PATH: toolsDir, SMOLBOX_CONFIG_DIR: path.join(root, 'config') };

const bridge = createWorkerBridge({ env });
try {
  const t0 = performance.now();
  await bridge.ready();
  const workerStartMs = performance.now() - t0;

  const command = await timeSteps(bridge, ['get', 'model_path'], cwd);
  const tool = await timeSteps(bridge, ['bench/noop'], cwd);
  const direct: number[] = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const s = performance.now();
    await runTool('bench/noop', [], { cwd, env, sink: () => {} });
    if (i >= WARMUP) direct.push(performance.now() - s);
  }
  const stream = await timeSteps(bridge, ['bench/stream'], cwd);

  const toolStats = stats(tool);
  const directStats = stats(direct);
  const streamStats = stats(stream);
  console.log(
    JSON.stringify({
      bench: 'workbench',
      runs: RUNS,
      worker_start_ms: Math.round(workerStartMs),
      command_step_ms: stats(command),
      tool_step_ms: toolStats,
      tool_step_same_thread_ms: directStats,
      bridge_hop_ms: Math.round((toolStats.median - directStats.median) * 100) / 100,
      stream_step_ms: streamStats,
      stream_tokens_per_s: Math.round(TOKENS / (streamStats.median / 1000)),
      target_ms: TARGET_MS,
      within_target: toolStats.p95 < TARGET_MS && stats(command).p95 < TARGET_MS,
    }),
  );
} finally {
  await bridge.close();
  fs.rmSync(root, { recursive: true, force: true });
}
