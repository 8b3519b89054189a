/**
 * The typed events a running tool emits. The one-shot CLI renders them as text (or JSON
 * lines with --json); the workbench receives the same objects from its worker thread.
 * Every event must survive structured cloning (plain data only).
 */
import type { StateKey } from './tool.js';
export type ToolEvent =
  | LogEvent
  | ProgressEvent
  | TokenEvent
  | MetricEvent
  | ResultEvent
  | ErrorEvent;

export interface LogEvent {
  type: 'log';
  level: 'info' | 'warn';
  message: string;
}

export interface ProgressEvent {
  type: 'progress';
  /** What is progressing, e.g. "download gpt2" or "train". */
  label: string;
  current: number;
  /** Undefined when the total is unknown (a spinner rather than a bar). */
  total?: number;
  /** Unit of current/total, e.g. "B", "step", "tok". */
  unit?: string;
  /** Estimated seconds left, when the emitter can tell. */
  etaS?: number;
  /** Extra numbers to show beside the bar (loss, tokens/s, …). */
  info?: Record<string, number>;
}

export interface TokenEvent {
  type: 'token';
  /** Decoded text of the new token(s), ready to print as is. */
  text: string;
  tokenId?: number;
}

export interface MetricEvent {
  type: 'metric';
  name: string;
  value: number;
  /** Training step (or other x-axis) the value belongs to. */
  step?: number;
}

export interface ResultEvent {
  type: 'result';
  result: ToolResult;
}

export interface ErrorEvent {
  type: 'error';
  /** One line for people: the culprit named, the fix suggested. */
  message: string;
  /** Stack or internals, shown only with --debug. */
  detail?: string;
}

/** What a tool returns when it succeeds. */
export interface ToolResult {
  /** Final numbers worth recording in the history (loss, perplexity, sparsity, …). */
  metrics?: Record<string, number>;
  /** Human-readable summary printed at the end (one or a few lines). */
  message?: string;
  /** Structured payload printed as one JSON object with --json (e.g. sampler output). */
  data?: unknown;
  /**
   * What an adopting input (`resolves.adopt`) puts in the state instead of its value as given:
   * the importer's model_path names the ONNX variant it chose. Kept out of the result event.
   */
  adopt?: Partial<Record<StateKey, string>>;
}

/** How a tool reports while it runs. */
export interface Emitter {
  log(message: string, level?: 'info' | 'warn'): void;
  progress(p: Omit<ProgressEvent, 'type'>): void;
  token(text: string, tokenId?: number): void;
  metric(name: string, value: number, step?: number): void;
}

/** An Emitter that forwards every call as a ToolEvent to one sink. */
export function emitterFor(sink: (event: ToolEvent) => void): Emitter {
  return {
    log: (message, level = 'info') => sink({ type: 'log', level, message }),
    progress: (p) => sink({ type: 'progress', ...p }),
    token: (text, tokenId) => sink({ type: 'token', text, tokenId }),
    metric: (name, value, step) => sink({ type: 'metric', name, value, step }),
  };
}
