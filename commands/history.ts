/**
 * `smox history`: the recorded steps as a table — number, time, ✓/✗, the tool or command,
 * the arguments that matter (those not at their default, paths the state gave left out),
 * and how long it took. `--json` prints the records themselves, one per line.
 */
import { defineCommand } from '../src/core/command.js';
import { type HistoryRecord, PYTHON_SNAPSHOT, readHistory } from '../src/core/history.js';
import { formatArgs, toolSchemas } from '../src/core/replay.js';
import type { ArgsSchema } from '../src/core/tool.js';
import { UserError } from '../src/core/tool.js';

/** Keeps the table one line per step on a normal terminal. */
const ARGS_WIDTH = 60;

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

/** The table's lines, header first. */
export function historyTable(records: HistoryRecord[], schemas: Map<string, ArgsSchema>): string[] {
  const rows = records.map((r, i) => {
    const what = r.action ? `${r.name} ${r.action}` : r.name;
    let args = keyArgs(r, schemas.get(r.name));
    if (r.status !== 'ok') args = [args, r.status === 'cancelled' ? '(cancelled)' : `(${r.error ?? 'failed'})`].filter(Boolean).join(' ');
    return [String(i + 1), formatTime(r.time), MARK[r.status] ?? '?', what, args, r.name === PYTHON_SNAPSHOT ? '' : formatDuration(r.duration_ms)];
  });
  const header = ['#', 'time', '', 'step', 'args', 'duration'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => [...row[c]].length)));
  const line = (row: string[]) =>
    row.map((cell, c) => (c === 0 ? cell.padStart(widths[c]) : c === row.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

export default defineCommand({
  summary: 'the recorded steps as a table',
  usage: 'smox history',
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
    for (const line of historyTable(records, await toolSchemas(records))) ctx.out(line);
    return 0;
  },
});
