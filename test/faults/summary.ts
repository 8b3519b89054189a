/**
 * vitest global setup: gives the fault-injection suites one tally file for the run and prints
 * their counts as one line at the end (the numbers the README's Reliability section reports).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function setup(): () => void {
  const file = path.join(os.tmpdir(), `smolbox-fault-tally-${process.pid}-${Date.now()}.jsonl`);
  // Set before the test workers start, so each inherits it.
  process.env.SMOLBOX_FAULT_TALLY = file;
  return () => {
    let lines: { suite: string; cases: number; faults: number; lost: number }[] = [];
    try {
      lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    } catch {
      return; // no fault suite ran in this selection
    }
    fs.rmSync(file, { force: true });
    const sum = (k: 'cases' | 'faults' | 'lost') => lines.reduce((a, l) => a + l[k], 0);
    process.stdout.write(`fault injection: ${lines.length} suites, ${sum('cases')} cases, ${sum('faults')} faults injected, ${sum('lost')} files lost\n`);
  };
}
