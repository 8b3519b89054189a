/**
 * One workbench step as the output pane shows it, and the pure reducer that folds the engine's
 * events into it: streamed tokens join into one text block, printed lines and results become
 * line blocks, the latest progress is kept with an ETA, and metric values form series for the
 * loss chart. Tested without rendering.
 */
import type { ProgressEvent } from '../core/events.js';
import { resultLines } from '../core/render-text.js';
import type { StepOutcome, WorkbenchEvent } from '../engine/worker-bridge.js';
import { asWorkbenchText } from './format.js';

/** A piece of a step's output, in arrival order. */
export type Block =
  /** Streamed tokens, joined. */
  | { kind: 'tokens'; text: string }
  /** A whole line: a command's output, a log, a warning, or the result. */
  | { kind: 'line'; text: string; tone: 'plain' | 'warn' | 'result' };

export interface Step {
  id: number;
  /** The line as typed. */
  line: string;
  status: 'running' | 'ok' | 'error' | 'cancelled';
  /** Wall-clock start, ms. */
  startedAt: number;
  durationMs?: number;
  blocks: Block[];
  /** The latest progress, its ETA filled in when the tool gave none; null when none or done. */
  progress: ProgressEvent | null;
  /** The latest value of each metric. */
  metrics: Record<string, number>;
  /** Values of each metric in order, the last SERIES_MAX kept (the loss chart). */
  series: Record<string, number[]>;
  /** The one red line of a failure. */
  error?: string;
  /** The failure's stack, shown under it when the workbench runs with --debug. */
  errorDetail?: string;
  /** A chat turn: `line` is the user's message (chat.ts). */
  chat?: boolean;
  /** Ctrl-C was pressed while it ran. */
  cancelling?: boolean;
  /** Where the current progress started (for an ETA when the tool gives none). */
  progressStart?: { label: string; at: number; current: number };
}

/** Points a series keeps: more than any terminal is wide. */
export const SERIES_MAX = 400;

export function startStep(id: number, line: string, now: number): Step {
  return { id, line, status: 'running', startedAt: now, blocks: [], progress: null, metrics: {}, series: {} };
}

function pushLine(blocks: Block[], text: string, tone: 'plain' | 'warn' | 'result'): Block[] {
  return [...blocks, { kind: 'line', text, tone }];
}

/** ETA from the rate since this label's progress began, when the tool did not give one. */
function withEta(step: Step, p: ProgressEvent, now: number): { progress: ProgressEvent; progressStart: Step['progressStart'] } {
  const start = step.progressStart?.label === p.label && step.progressStart.current <= p.current ? step.progressStart : { label: p.label, at: now, current: p.current };
  if (p.etaS !== undefined || p.total === undefined) return { progress: p, progressStart: start };
  const done = p.current - start.current;
  const elapsedS = (now - start.at) / 1000;
  if (done <= 0 || elapsedS <= 0) return { progress: p, progressStart: start };
  return { progress: { ...p, etaS: ((p.total - p.current) * elapsedS) / done }, progressStart: start };
}

/** Folds one event into the step. */
export function applyEvent(step: Step, e: WorkbenchEvent, now: number): Step {
  switch (e.type) {
    case 'token': {
      const last = step.blocks.at(-1);
      if (last?.kind === 'tokens') return { ...step, blocks: [...step.blocks.slice(0, -1), { kind: 'tokens', text: last.text + e.text }] };
      return { ...step, blocks: [...step.blocks, { kind: 'tokens', text: e.text }] };
    }
    case 'output':
      return { ...step, blocks: pushLine(step.blocks, e.line, 'plain') };
    case 'log': {
      const text = asWorkbenchText(e.message);
      return { ...step, blocks: pushLine(step.blocks, e.level === 'warn' ? `warning: ${text}` : text, e.level === 'warn' ? 'warn' : 'plain') };
    }
    case 'progress': {
      const finished = e.total !== undefined && e.current >= e.total;
      const { progress, progressStart } = withEta(step, e, now);
      return { ...step, progress: finished ? { ...progress, etaS: 0 } : progress, progressStart };
    }
    case 'metric': {
      const values = [...(step.series[e.name] ?? []), e.value].slice(-SERIES_MAX);
      return { ...step, metrics: { ...step.metrics, [e.name]: e.value }, series: { ...step.series, [e.name]: values } };
    }
    case 'result': {
      let blocks = step.blocks;
      for (const line of resultLines(e.result)) blocks = pushLine(blocks, asWorkbenchText(line), 'result');
      return { ...step, blocks };
    }
    case 'error':
      return { ...step, error: asWorkbenchText(e.message.split('\n')[0]), errorDetail: e.detail };
  }
}

/**
 * The step once the engine says it is over. Its duration is the one its history record holds
 * when it wrote one, so the scrollback and the history panel say the same; the UI's own clock
 * (which also counts the trip to the engine) only for steps that recorded none.
 */
export function finishStep(step: Step, outcome: StepOutcome, now: number): Step {
  const status = outcome.ok ? 'ok' : outcome.failure === 'cancelled' ? 'cancelled' : 'error';
  const error = outcome.ok ? undefined : (step.error ?? (outcome.error && asWorkbenchText(outcome.error)));
  return { ...step, status, durationMs: outcome.durationMs ?? now - step.startedAt, error, cancelling: false };
}
