/**
 * `smox history`: the recorded steps as a table — number, time, ✓/✗, the tool or command,
 * the arguments that matter (those not at their default, paths the state gave left out),
 * and how long it took, with a line of metrics and output hashes under the steps that have
 * them. Every line fits the terminal: narrower ones get a shorter time, then tool names
 * without their category, then no time. `--json` prints the records themselves, one per line.
 */
import { defineCommand } from '../src/core/command.js';
import { type HistoryRecord, PYTHON_SNAPSHOT, readHistory } from '../src/core/history.js';
import { formatArgs, toolSchemas } from '../src/core/replay.js';
import type { ArgsSchema } from '../src/core/tool.js';
import { UserError } from '../src/core/tool.js';

/** Keeps the workbench's history panel one line per step. */
const ARGS_WIDTH = 60;
/** The table's width when stdout is not a terminal. */
const DEFAULT_WIDTH = 100;
/** Room the args column gets before the time and step columns shrink. */
const MIN_ARGS = 16;
/** Characters of an output's content hash shown (the whole is in `--json`). */
const HASH_CHARS = 12;

const pad2 = (n: number) => String(n).padStart(2, '0');

/** Local time, to the second: when the person did it, as their clock said. */
export function formatTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso.slice(0, 19);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} m`;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The arguments worth showing for a step. */
export function keyArgs(r: HistoryRecord, schema: ArgsSchema | undefined): string {
  if (r.kind === 'command') {
    if (r.name === 'set') return `${String(r.args.key)} = ${String(r.args.value)}`;
    if (r.name === PYTHON_SNAPSHOT) return `model_path = ${r.state_after?.model_path ?? '∅'}`;
    return '';
  }
  const shown: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(r.args)) {
    const spec = schema?.[name];
    const resolves = spec?.resolves;
    if (resolves && resolves.direction === 'in' && v === r.state_before?.[resolves.key]) continue;
    if (resolves && resolves.direction === 'out' && /^\.smolbox[/\\]/.test(String(v))) continue;
    if (spec && !spec.seed && same(v, spec.default)) continue;
    shown[name] = v;
  }
  const text = formatArgs(shown);
  return text.length > ARGS_WIDTH ? `${text.slice(0, ARGS_WIDTH - 1)}…` : text;
}

const MARK: Record<HistoryRecord['status'], string> = { ok: '✓', error: '✗', cancelled: '✗' };

/** `text` in at most `width` characters, an ellipsis marking a cut. */
function cut(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  return width <= 0 ? '' : `${chars.slice(0, width - 1).join('')}…`;
}

/** The metrics and output hashes of a step, for the line under its row. */
export function stepDetails(r: HistoryRecord): string {
  const metrics = Object.entries(r.metrics ?? {}).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : Number(v.toPrecision(4))}`);
  const outputs = Object.entries(r.outputs ?? {}).map(([k, h]) => `${k} ${h.slice(0, HASH_CHARS)}`);
  return [...metrics, ...outputs].join(' · ');
}

/** How much of the time and the step name a width leaves room for, widest first. */
const LAYOUTS = [
  { time: 'full', step: 'full' },
  { time: 'short', step: 'full' },
  { time: 'short', step: 'short' },
  { time: 'none', step: 'short' },
] as const;

const shortTime = (iso: string) => formatTime(iso).slice(5, 16);
/** `train/finetuner` → `finetuner`: the name without its category. */
const shortStep = (what: string) => what.replace(/^[^/\s]+\//, '');

/** The table's lines, header first, each at most `width` characters. */
export function historyTable(records: HistoryRecord[], schemas: Map<string, ArgsSchema>, width = DEFAULT_WIDTH): string[] {
  const steps = records.map((r, i) => {
    let args = keyArgs(r, schemas.get(r.name));
    if (r.status !== 'ok') args = [args, r.status === 'cancelled' ? '(cancelled)' : `(${r.error ?? 'failed'})`].filter(Boolean).join(' ');
    const what = r.action ? `${r.name} ${r.action}` : r.name;
    return { r, number: String(i + 1), what, args, duration: r.name === PYTHON_SNAPSHOT ? '' : formatDuration(r.duration_ms) };
  });
  const len = (s: string) => [...s].length;
  const widest = (cells: string[], header: string) => Math.max(len(header), ...cells.map(len));
  const argsWanted = widest(steps.map((s) => s.args), 'args');
  let table: { header: string[]; rows: string[][]; argsRoom: number } | undefined;
  for (const layout of LAYOUTS) {
    const rows = steps.map((s) => [
      s.number,
      ...(layout.time === 'none' ? [] : [layout.time === 'full' ? formatTime(s.r.time) : shortTime(s.r.time)]),
      MARK[s.r.status] ?? '?',
      layout.step === 'full' ? s.what : shortStep(s.what),
      s.args,
      s.duration,
    ]);
    const header = ['#', ...(layout.time === 'none' ? [] : ['time']), '', 'step', 'args', 'duration'];
    const argsAt = header.indexOf('args');
    const fixed = header.reduce((sum, h, c) => sum + (c === argsAt ? 0 : widest(rows.map((row) => row[c]), h)), 2 * (header.length - 1));
    table = { header, rows, argsRoom: width - fixed };
    if (table.argsRoom >= Math.min(argsWanted, MIN_ARGS)) break;
  }
  if (!table) return [];
  const { header, rows } = table;
  const argsAt = header.indexOf('args');
  const argsWidth = Math.max(len('args'), Math.min(argsWanted, table.argsRoom));
  for (const row of rows) row[argsAt] = cut(row[argsAt], argsWidth);
  const widths = header.map((h, c) => widest(rows.map((row) => row[c]), h));
  const pad = (cell: string, w: number) => cell + ' '.repeat(Math.max(0, w - len(cell)));
  const line = (row: string[]) =>
    cut(row.map((cell, c) => (c === 0 ? cell.padStart(widths[c]) : c === row.length - 1 ? cell : pad(cell, widths[c]))).join('  ').trimEnd(), width);
  const indent = ' '.repeat(widths[0] + 2);
  const lines = [line(header)];
  rows.forEach((row, i) => {
    lines.push(line(row));
    const details = stepDetails(steps[i].r);
    if (details) lines.push(cut(indent + details, width));
  });
  return lines;
}

export default defineCommand({
  summary: 'the recorded steps, with metrics and output hashes (--json: the records)',
  usage: 'smox history [--json]',
  async run(ctx) {
    if (ctx.argv.length > 0) throw new UserError(`history takes no arguments (got "${ctx.argv[0]}"); usage: smox history`);
    const records = readHistory(ctx.cwd);
    if (ctx.json) {
      for (const r of records) ctx.out(JSON.stringify(r));
      return 0;
    }
    if (records.length === 0) {
      ctx.out('no steps recorded here yet');
      return 0;
    }
    for (const line of historyTable(records, await toolSchemas(records), ctx.columns)) ctx.out(line);
    return 0;
  },
});
