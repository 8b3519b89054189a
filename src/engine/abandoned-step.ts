/**
 * A step whose engine goes away under it — the workbench quit at once (Ctrl-C twice) while a
 * fine-tune ran, or the worker thread died — never reaches runTool's own bookkeeping. So when
 * a tool starts, the runner hands over what that bookkeeping needs (PendingStep, plain data
 * that crosses the worker boundary), and the UI side writes it once the engine is gone: the
 * step recorded as cancelled (or failed), and the fresh output directories it left empty
 * removed — what runTool does for a step that ends by itself. Light on imports: the UI thread
 * loads this.
 */
import fs from 'node:fs';
import { appendHistory, type HistoryRecord, readHistory } from '../core/history.js';

/** A running tool step as its history record would be if it ended now. */
export interface PendingStep {
  cwd: string;
  /** The record of the step cancelled: status, error and duration are set when it is written. */
  record: HistoryRecord;
  /** Output directories the runner made for the step (absolute). */
  created: string[];
}

/** Removes those of `dirs` that are empty: a step's output directory it never wrote into. */
export function removeEmptyDirs(dirs: readonly string[]): void {
  for (const dir of dirs) {
    let empty = false;
    try {
      empty = fs.readdirSync(dir).length === 0;
    } catch {
      // gone already, or not a directory
    }
    if (empty) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Records a step its engine abandoned, unless the step recorded itself just before the end,
 * and removes its empty output directories. Never throws: it runs while the workbench quits.
 */
export async function recordAbandoned(
  step: PendingStep,
  how: { status: 'cancelled' | 'error'; error: string },
  now = Date.now(),
): Promise<void> {
  try {
    removeEmptyDirs(step.created);
    const { time, name } = step.record;
    if (readHistory(step.cwd).some((r) => r.time === time && r.name === name && r.kind === 'tool')) return;
    await appendHistory(step.cwd, { ...step.record, ...how, duration_ms: Math.max(0, now - Date.parse(time)) }, () => {});
  } catch {
    // A directory that cannot be written to keeps what it has; quitting goes on.
  }
}
