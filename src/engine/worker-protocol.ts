/**
 * The messages between the workbench's UI thread and its engine worker. Everything here
 * crosses a `postMessage`, so it is plain data (structured-clone safe), and it is all the UI
 * knows of the engine: src/tui/ imports these types, never models/, graph/ or runtime/.
 */
import type { ToolEvent } from '../core/events.js';
import type { PendingStep } from './abandoned-step.js';
import type { ModelSummary } from './engine.js';

/** What the state panel shows about the model in memory (the Engine's `summary()`). */
export type { ModelSummary } from './engine.js';

/** The engine as the UI sees it, sent when the worker starts and after every step. */
export interface EngineInfo {
  /** Compute threads ORT uses. */
  threads: number;
  /** The most recently used model; null before any step loaded one. */
  model: ModelSummary | null;
  /** Parameter names of that model, for completing --param_pattern and --deltas. */
  paramNames: string[];
  /** `builtin:` names for completing model and dataset paths. */
  builtins: { models: string[]; datasets: string[] };
}

/**
 * One event of a step: a tool's own ToolEvents, or one line printed by an internal command
 * or by help (tables of `ls`, `state`, `history`).
 */
export type WorkbenchEvent = ToolEvent | { type: 'output'; line: string };

/** How a step ended. */
export interface StepOutcome {
  ok: boolean;
  /** `usage`: nothing ran (bad flag, unknown tool); `run`: it failed; `cancelled`: Ctrl-C. */
  failure?: 'usage' | 'run' | 'cancelled';
  /** The one-line message shown for a failure. */
  error?: string;
  /** How long the step took, as its history record says (absent when it wrote none). */
  durationMs?: number;
}

/** UI → worker. */
export type HostRequest =
  /** Run one workbench line, already split into words, in `cwd`; tables fit `columns`. */
  | { type: 'step'; id: number; words: string[]; cwd: string; columns?: number }
  /** Abort the step with this id (Ctrl-C). */
  | { type: 'cancel'; id: number }
  /** Release the models and let the thread end. */
  | { type: 'close' };

/** Worker → UI. */
export type HostReply =
  | { type: 'ready'; info: EngineInfo }
  /** A tool step began: what to record should the engine be gone before it ends. */
  | { type: 'started'; id: number; pending: PendingStep }
  | { type: 'event'; id: number; event: WorkbenchEvent }
  | { type: 'done'; id: number; outcome: StepOutcome; info: EngineInfo }
  | { type: 'closed' };
