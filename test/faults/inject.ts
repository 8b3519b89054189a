/**
 * Fault injection for the reliability suite. A kill -9 is simulated in-process by failing the
 * k-th file-system operation and every one after it (a killed process writes nothing more and
 * runs no cleanup that touches the disk); a full disk by failing only the k-th with ENOSPC.
 * What is on disk afterwards is what a real kill (or ENOSPC) at that point leaves; the few real
 * kill -9 cases spawn the CLI (see kill.test.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { vi } from 'vitest';

/** Operations that change what is on disk (the ones a kill can interrupt). */
export const DISK_OPS = ['writeSync', 'writeFileSync', 'appendFileSync', 'copyFileSync', 'renameSync', 'mkdirSync', 'rmSync', 'rmdirSync', 'fsyncSync', 'linkSync', 'openSync'] as const;

/** Operations that can fail for want of space (opening to read and removing cannot). */
export const WRITE_OPS = ['writeSync', 'writeFileSync', 'appendFileSync', 'copyFileSync', 'renameSync', 'mkdirSync', 'fsyncSync', 'linkSync'] as const;

export class Killed extends Error {}

export type Fault = { kill: true } | { code: string };

/**
 * Runs `fn` with disk operation `k` (1-based) failing as `fault`; returns the error it ended
 * with (undefined when it succeeded) and how many operations it reached.
 */
export async function faultAt(k: number, fn: () => unknown, fault: Fault, trace?: string[], ops: readonly (typeof DISK_OPS)[number][] = DISK_OPS): Promise<{ err: unknown; ops: number }> {
  let n = 0;
  let dead = false;
  const spies = ops.map((op) => {
    const real = fs[op] as (...a: unknown[]) => unknown;
    return vi.spyOn(fs, op).mockImplementation(((...args: unknown[]) => {
      if (dead) throw new Killed('dead');
      trace?.push(`${op} ${typeof args[0] === 'string' ? args[0] : ''}`);
      if (++n === k) {
        if ('kill' in fault) {
          dead = true;
          throw new Killed(`killed at op ${k} (${op})`);
        }
        // As Node's own: the code, and the path when the call names one.
        throw Object.assign(new Error(`${fault.code}: simulated, ${op}`), { code: fault.code, ...(typeof args[0] === 'string' ? { path: args[0] } : {}) });
      }
      return real.apply(fs, args);
    }) as never);
  });
  try {
    await fn();
    return { err: undefined, ops: n };
  } catch (err) {
    return { err, ops: n };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

/** How many disk operations `fn` performs. */
export async function countOps(fn: () => unknown, trace?: string[], only: readonly (typeof DISK_OPS)[number][] = DISK_OPS): Promise<number> {
  const { err, ops } = await faultAt(Infinity, fn, { kill: true }, trace, only);
  if (err) throw err;
  return ops;
}

/** Every visible file under `p` with its bytes, as a comparable snapshot ({} when absent). */
export function snapshot(p: string): Record<string, string> {
  if (!fs.existsSync(p)) return {};
  if (!fs.statSync(p).isDirectory()) return { '.': fs.readFileSync(p).toString('base64') };
  const out: Record<string, string> = {};
  for (const rel of fs.readdirSync(p, { recursive: true }).map(String).sort()) {
    const full = path.join(p, rel);
    if (fs.statSync(full).isFile()) out[rel] = fs.readFileSync(full).toString('base64');
  }
  return out;
}

/** Where this run's counts go: set by the global setup (summary.ts), else a per-process file. */
const tallyFile = () => process.env.SMOLBOX_FAULT_TALLY ?? path.join(os.tmpdir(), `smolbox-fault-tally-${process.pid}.jsonl`);

/** Adds a suite's counts to the run's tally: cases run, faults injected, files lost (must be 0). */
export function tally(suite: string, counts: { cases: number; faults: number; lost: number }): void {
  fs.appendFileSync(tallyFile(), `${JSON.stringify({ suite, ...counts })}\n`);
}
