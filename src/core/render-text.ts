/**
 * How the one-shot CLI shows a running tool's events: tokens inline, logs as lines, progress
 * as one redrawn bar on a terminal (occasional plain lines otherwise), errors as one red line,
 * and with --json every event as one JSON line. Progress and errors go to stderr so stdout
 * stays the tool's output (generated text, the result) when piped.
 */
import type { ProgressEvent, ToolEvent, ToolResult } from './events.js';

/** A writable end, as process.stdout/stderr are. */
export interface TextSink {
  write(chunk: string): unknown;
}

export interface RenderOptions {
  out: TextSink;
  err: TextSink;
  /** One JSON object per event on stdout instead of text. */
  json: boolean;
  /** ANSI colours on stderr (a TTY and no NO_COLOR). */
  color: boolean;
  /** stderr is a terminal: redraw one progress bar in place. */
  tty: boolean;
  /** Print error details (stacks) too. */
  debug: boolean;
  /** Terminal width for the bar. */
  columns?: number;
  /** Clock in ms, injectable so throttling is testable without sleeping. */
  now?: () => number;
}

export interface Renderer {
  event(e: ToolEvent): void;
  /** Ends a half-written line or bar; call once when the tool is over. */
  finish(): void;
}

const RED = (s: string) => `\x1b[31m${s}\x1b[39m`;
const YELLOW = (s: string) => `\x1b[33m${s}\x1b[39m`;
const DIM = (s: string) => `\x1b[2m${s}\x1b[22m`;
const CLEAR_LINE = '\r\x1b[2K';
/** A bar redraw at most this often (ms); the final state always draws. */
const TTY_REDRAW_MS = 80;
/** Without a terminal, a progress line at most this often unless a tenth more is done. */
const PLAIN_EVERY_MS = 5000;

/** `smox: error: …` — the one line a person sees for a failure. */
export function formatError(message: string, color: boolean): string {
  const line = `smox: error: ${message.split('\n')[0]}`;
  return color ? RED(line) : line;
}

/** 75 → "1m15s", 3725 → "1h02m", 9 → "9s". */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Numbers for people: integers as they are, others to 4 significant digits. */
export function formatNumber(x: number): string {
  if (Number.isInteger(x)) return String(x);
  const abs = Math.abs(x);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? x.toExponential(3) : String(Number(x.toPrecision(4)));
}

function formatInfo(info: Record<string, number> | undefined): string[] {
  return Object.entries(info ?? {}).map(([k, v]) => `${k} ${formatNumber(v)}`);
}

/** One line of progress: `train [#####-----] 50% 5/10 step · eta 12s · loss 2.3`. */
export function progressLine(p: ProgressEvent, width: number, bar: boolean): string {
  const parts: string[] = [];
  const unit = p.unit ? ` ${p.unit}` : '';
  if (p.total !== undefined && p.total > 0) {
    const frac = Math.min(1, Math.max(0, p.current / p.total));
    const pct = `${Math.floor(frac * 100)}%`;
    const counts = `${formatNumber(p.current)}/${formatNumber(p.total)}${unit}`;
    const tail = [counts, ...(p.etaS !== undefined ? [`eta ${formatEta(p.etaS)}`] : []), ...formatInfo(p.info)];
    // Too wide for the terminal: the last items go whole (emitters put what matters first).
    const minItems = p.etaS !== undefined ? 2 : 1;
    while (bar && tail.length > minItems && `${p.label} ${pct} ${tail.join(' · ')}`.length > width - 1) tail.pop();
    const fixed = `${p.label}  ${pct} ${tail.join(' · ')}`;
    const cells = bar ? Math.max(0, Math.min(30, width - fixed.length - 4)) : 0;
    const barText = cells >= 5 ? ` [${'#'.repeat(Math.round(frac * cells)).padEnd(cells, '-')}]` : '';
    parts.push(`${p.label}${barText} ${pct} ${tail.join(' · ')}`);
  } else {
    parts.push([`${p.label} ${formatNumber(p.current)}${unit}`, ...formatInfo(p.info)].join(' · '));
  }
  const line = parts.join('');
  return bar && line.length > width - 1 ? line.slice(0, Math.max(0, width - 1)) : line;
}

/** The lines a result prints: its message, then its metrics. */
export function resultLines(result: ToolResult): string[] {
  const lines = result.message ? result.message.split('\n') : [];
  const metrics = Object.entries(result.metrics ?? {});
  if (metrics.length) lines.push(metrics.map(([k, v]) => `${k}: ${formatNumber(v)}`).join('  '));
  return lines;
}

export function createRenderer(opts: RenderOptions): Renderer {
  const now = opts.now ?? Date.now;
  const width = opts.columns ?? 80;
  if (opts.json) {
    return { event: (e) => opts.out.write(`${JSON.stringify(e)}\n`), finish: () => {} };
  }
  let midLine = false; // stdout has text without a trailing newline (streamed tokens)
  let barShown = false; // stderr's current line holds the progress bar
  let lastBar: ProgressEvent | null = null;
  let lastDraw = -Infinity;
  let lastPlainTenth = -1;
  const latestMetrics: Record<string, number> = {};

  /** Gets the cursor to the start of a fresh line before printing a whole line. */
  const breakLine = () => {
    if (barShown) {
      opts.err.write(CLEAR_LINE);
      barShown = false;
    }
    if (midLine) {
      opts.out.write('\n');
      midLine = false;
    }
  };

  const drawBar = (p: ProgressEvent, force: boolean) => {
    lastBar = p;
    const t = now();
    const done = p.total !== undefined && p.current >= p.total;
    if (opts.tty) {
      if (!force && !done && t - lastDraw < TTY_REDRAW_MS) return;
      if (midLine) breakLine();
      const withMetrics = { ...p, info: { ...p.info, ...latestMetrics } };
      opts.err.write(`${CLEAR_LINE}${progressLine(withMetrics, width, true)}`);
      barShown = true;
      lastDraw = t;
      if (done) {
        // A finished bar stays on screen as a record of what ran.
        opts.err.write('\n');
        barShown = false;
        lastBar = null;
      }
      return;
    }
    const tenth = p.total ? Math.floor((10 * p.current) / p.total) : -1;
    if (!force && !done && tenth === lastPlainTenth && t - lastDraw < PLAIN_EVERY_MS) return;
    if (done && tenth === lastPlainTenth && lastDraw > -Infinity) return;
    breakLine();
    opts.err.write(`${progressLine(p, width, false)}\n`);
    lastPlainTenth = tenth;
    lastDraw = t;
  };

  return {
    event(e) {
      switch (e.type) {
        case 'token':
          if (barShown) breakLine();
          opts.out.write(e.text);
          if (e.text.length) midLine = !e.text.endsWith('\n');
          return;
        case 'log':
          breakLine();
          if (e.level === 'warn') opts.err.write(`${opts.color ? YELLOW('warning:') : 'warning:'} ${e.message}\n`);
          else opts.out.write(`${e.message}\n`);
          if (lastBar && opts.tty) drawBar(lastBar, true);
          return;
        case 'progress':
          drawBar(e, false);
          return;
        case 'metric':
          // Frequent numbers (loss per step) ride along the bar; without one they print as lines.
          if (opts.tty && lastBar) {
            latestMetrics[e.name] = e.value;
            drawBar(lastBar, false);
          } else {
            breakLine();
            const step = e.step !== undefined ? ` (step ${e.step})` : '';
            opts.out.write(`${e.name}: ${formatNumber(e.value)}${step}\n`);
          }
          return;
        case 'result':
          breakLine();
          for (const line of resultLines(e.result)) opts.out.write(`${line}\n`);
          lastBar = null;
          return;
        case 'error':
          breakLine();
          opts.err.write(`${formatError(e.message, opts.color)}\n`);
          if (opts.debug && e.detail) opts.err.write(`${opts.color ? DIM(e.detail) : e.detail}\n`);
          lastBar = null;
          return;
      }
    },
    finish() {
      if (barShown) {
        opts.err.write('\n');
        barShown = false;
      }
      if (midLine) {
        opts.out.write('\n');
        midLine = false;
      }
    },
  };
}
