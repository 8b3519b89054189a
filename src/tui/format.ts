/**
 * Small text helpers for the workbench's panels: paths shortened to fit, parameter counts and
 * byte sizes for people, and the loss chart as rows of block characters.
 */
import os from 'node:os';
import path from 'node:path';

/**
 * A path as short as it can be told: relative to `cwd` when inside it, `~` for the home
 * directory, then cut in the middle (keeping the last part, which names the thing) to `width`.
 */
export function shortenPath(p: string, cwd: string, width: number): string {
  let s = p;
  if (path.isAbsolute(p)) {
    const rel = path.relative(cwd, p);
    const home = os.homedir();
    if (rel === '') s = '.';
    else if (!rel.startsWith('..') && !path.isAbsolute(rel)) s = rel;
    else if (home && (p === home || p.startsWith(home + path.sep))) s = `~${p.slice(home.length)}`;
  }
  if (s.length <= width) return s;
  if (width <= 1) return '…';
  const tail = Math.ceil((width - 1) * 0.6);
  const head = width - 1 - tail;
  return `${s.slice(0, head)}…${s.slice(s.length - tail)}`;
}

/** 124439808 → "124.4M", 1500 → "1.5K". */
export function formatCount(n: number): string {
  const units: [number, string][] = [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [size, unit] of units) if (n >= size) return `${Number((n / size).toFixed(1))}${unit}`;
  return String(n);
}

/** Bytes in binary units: 497758208 → "474.7 MiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Eighths of a cell, from empty to full. */
const BLOCKS = ' ▁▂▃▄▅▆▇█';

/**
 * The last `width` values as `rows` lines of block characters, top line first: each column's
 * height is its value between the series' min and max, in eighths of a cell.
 */
export function chartRows(values: readonly number[], width: number, rows: number): string[] {
  const shown = values.slice(-Math.max(1, width));
  if (shown.length === 0) return [];
  const lo = Math.min(...shown);
  const hi = Math.max(...shown);
  const span = hi - lo;
  const levels = rows * 8;
  // A flat series sits at half height rather than on the floor or the ceiling.
  const heights = shown.map((v) => (span > 0 ? Math.max(1, Math.round(((v - lo) / span) * levels)) : Math.round(levels / 2)));
  const lines: string[] = [];
  for (let r = rows - 1; r >= 0; r--) {
    lines.push(heights.map((h) => BLOCKS[Math.min(8, Math.max(0, h - r * 8))]).join(''));
  }
  return lines;
}

/**
 * A message written for the shell (`run \`smox set …\``, `smox ls lists the tools`) told as the
 * workbench takes it: the program's name dropped, `smox --help` as `help`. Only for messages;
 * a command's own output (an exported script) is shown as it is.
 */
export function asWorkbenchText(message: string): string {
  return message.replace(/(^|[\s`'"(:])(?:smox|smolbox) (--help\b|[\w-])/g, (_, lead: string, next: string) => lead + (next === '--help' ? 'help' : next));
}
