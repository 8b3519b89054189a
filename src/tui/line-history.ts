/**
 * The workbench's command-line history, like a shell's: Up/Down walk the lines typed before,
 * in this session and earlier ones. It is one file for all directories,
 * `<config dir>/workbench_history` (the same directory as `smox config`'s config.json, so
 * SMOLBOX_CONFIG_DIR moves both), one line per entry, the newest MAX_ENTRIES kept.
 * Navigation is a pure function of (entries, position, draft) so it is tested without a UI.
 */
import fs from 'node:fs';
import path from 'node:path';
import { configDir } from '../core/config.js';

export const HISTORY_FILE = 'workbench_history';
/** Entries kept on disk and in memory. */
export const MAX_ENTRIES = 1000;
/** File size past which it is cut back to MAX_ENTRIES lines. */
const REWRITE_BYTES = 256 * 1024;

export function historyFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(configDir(env), HISTORY_FILE);
}

/** The saved lines, oldest first; none when the file does not exist yet. */
export function loadLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').slice(-MAX_ENTRIES);
  } catch {
    return [];
  }
}

/**
 * Appends a line (not a repeat of the last one, not blank) and returns the new list. The file
 * is rewritten to the newest entries only once it passes REWRITE_BYTES, so a step costs one append.
 */
export function saveLine(file: string, entries: readonly string[], line: string): string[] {
  const next = pushEntry(entries, line);
  if (next.length === entries.length && next.at(-1) === entries.at(-1)) return next;
  const text = next.at(-1);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.appendFileSync(file, `${text}\n`);
    if (fs.statSync(file).size > REWRITE_BYTES) fs.writeFileSync(file, `${next.join('\n')}\n`);
  } catch {
    // A read-only config dir costs the history across sessions, not the session.
  }
  return next;
}

/** The entries with `line` added: not a blank, not a repeat of the last, one line. */
export function pushEntry(entries: readonly string[], line: string): string[] {
  const text = line.replace(/[\r\n]+/g, ' ').trim();
  if (text === '' || entries.at(-1) === text) return [...entries];
  return [...entries, text].slice(-MAX_ENTRIES);
}

/** Where Up/Down stand: `index === entries.length` is the line being typed (the draft). */
export interface HistoryCursor {
  index: number;
  /** What was typed before the first Up, given back by Down past the newest entry. */
  draft: string;
}

export function freshCursor(entries: readonly string[]): HistoryCursor {
  return { index: entries.length, draft: '' };
}

/** One step back (Up) or forward (Down); `value` is the prompt's current text. */
export function walk(entries: readonly string[], cursor: HistoryCursor, value: string, direction: 'up' | 'down'): { cursor: HistoryCursor; value: string } {
  if (direction === 'up') {
    if (cursor.index <= 0) return { cursor, value };
    const draft = cursor.index === entries.length ? value : cursor.draft;
    const index = cursor.index - 1;
    return { cursor: { index, draft }, value: entries[index] };
  }
  if (cursor.index >= entries.length) return { cursor, value };
  const index = cursor.index + 1;
  return { cursor: { ...cursor, index }, value: index === entries.length ? cursor.draft : entries[index] };
}
