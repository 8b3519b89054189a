/**
 * The workbench prompt's line editing as a pure reducer: (state, key) → state and what the
 * key asks of the app (run a line, interrupt, quit). Every key of a chunk is folded in order
 * into the same state, so Enter submits exactly what was typed before it, whatever React has
 * rendered so far. Keys follow readline's emacs mode: Ctrl-A/E/B/F, Ctrl-U/K/W, Alt-B/F/D,
 * Home/End, Ctrl-←/→, Up/Down for the line history, Tab for completion.
 */
import type { Completion } from '../core/completion.js';
import type { Key } from './keys.js';
import { freshCursor, type HistoryCursor, pushEntry, walk } from './line-history.js';

export interface EditorState {
  /** The line being typed. */
  value: string;
  /** Where the cursor stands in `value` (UTF-16 index, never inside a surrogate pair). */
  cursor: number;
  /** Earlier lines, oldest first; a submitted line joins them at once. */
  entries: readonly string[];
  /** Where Up/Down stand in `entries`. */
  history: HistoryCursor;
  /** Completion candidates listed under the prompt after a Tab. */
  candidates: string[];
}

/** What a key asks of the app besides the new state. */
export type EditorEffect =
  | { type: 'submit'; line: string }
  /** Ctrl-C with nothing to clear (or while a step runs): cancel or arm quitting. */
  | { type: 'interrupt' }
  /** Ctrl-D on an empty line. */
  | { type: 'eof' }
  /** Esc (the app's chat mode leaves on it). */
  | { type: 'escape' };

export interface EditorContext {
  complete: (line: string, cursor: number) => Completion;
  /** A step runs: Ctrl-C goes to it, not to the line. */
  busy: boolean;
}

export function initialEditor(entries: readonly string[]): EditorState {
  return { value: '', cursor: 0, entries, history: freshCursor(entries), candidates: [] };
}

/** What Tab does to `value`: the new line and the candidates left to show. */
export function applyCompletion(value: string, c: Completion): { value: string; candidates: string[] } {
  if (c.candidates.length === 0) return { value, candidates: [] };
  const head = value.slice(0, c.start);
  if (c.candidates.length === 1) {
    const only = c.candidates[0];
    // A directory or a category (`train/`) or `--flag=` goes on being typed; a word is done.
    const open = only.endsWith('/') || only.endsWith('=');
    return { value: head + only + (open ? '' : ' '), candidates: [] };
  }
  const typed = value.slice(c.start);
  return { value: c.common.length > typed.length ? head + c.common : value, candidates: c.candidates };
}

const isLow = (s: string, i: number) => /[\uDC00-\uDFFF]/.test(s[i] ?? '');
/** One character left of `i`, stepping over a surrogate pair as one. */
const prevChar = (s: string, i: number) => (i <= 0 ? 0 : isLow(s, i - 1) && i >= 2 ? i - 2 : i - 1);
const nextChar = (s: string, i: number) => (i >= s.length ? s.length : isLow(s, i + 1) ? i + 2 : i + 1);

/**
 * Words for Alt-B/F/D and Ctrl-←/→: runs of letters, digits and `_` (readline's, plus `_`,
 * so a flag or state key such as `max_new_tokens` is one word).
 */
const isWordChar = (ch: string | undefined) => ch !== undefined && /[\p{L}\p{N}_]/u.test(ch);

export function wordLeft(s: string, i: number): number {
  let j = i;
  while (j > 0 && !isWordChar(s[j - 1])) j--;
  while (j > 0 && isWordChar(s[j - 1])) j--;
  return j;
}

export function wordRight(s: string, i: number): number {
  let j = i;
  while (j < s.length && !isWordChar(s[j])) j++;
  while (j < s.length && isWordChar(s[j])) j++;
  return j;
}

/** Ctrl-W: back to the previous blank, as readline's unix-word-rubout (a whole path or flag). */
function blankWordLeft(s: string, i: number): number {
  let j = i;
  while (j > 0 && /\s/.test(s[j - 1])) j--;
  while (j > 0 && !/\s/.test(s[j - 1])) j--;
  return j;
}

/** The line with [from, to) replaced by `insert`, the cursor after the insertion. */
function splice(st: EditorState, from: number, to: number, insert = ''): EditorState {
  const value = st.value.slice(0, from) + insert + st.value.slice(to);
  return { ...st, value, cursor: from + insert.length, candidates: [] };
}

const moveTo = (st: EditorState, cursor: number): EditorState => ({ ...st, cursor, candidates: [] });

function recall(st: EditorState, direction: 'up' | 'down'): EditorState {
  const moved = walk(st.entries, st.history, st.value, direction);
  return { ...st, history: moved.cursor, value: moved.value, cursor: moved.value.length, candidates: [] };
}

function tab(st: EditorState, ctx: EditorContext): EditorState {
  const head = st.value.slice(0, st.cursor);
  const done = applyCompletion(head, ctx.complete(head, head.length));
  return { ...st, value: done.value + st.value.slice(st.cursor), cursor: done.value.length, candidates: done.candidates };
}

/** Readline's Ctrl-<letter> and Alt-<letter> bindings. */
function letter(st: EditorState, name: string, meta: boolean): EditorState {
  const { value: v, cursor: c } = st;
  if (meta) {
    if (name === 'b') return moveTo(st, wordLeft(v, c));
    if (name === 'f') return moveTo(st, wordRight(v, c));
    if (name === 'd') return splice(st, c, wordRight(v, c));
    return st;
  }
  switch (name) {
    case 'a':
      return moveTo(st, 0);
    case 'e':
      return moveTo(st, v.length);
    case 'b':
      return moveTo(st, prevChar(v, c));
    case 'f':
      return moveTo(st, nextChar(v, c));
    case 'u':
      return splice(st, 0, c);
    case 'k':
      return splice(st, c, v.length);
    case 'w':
      return splice(st, blankWordLeft(v, c), c);
    case 'p':
      return recall(st, 'up');
    case 'n':
      return recall(st, 'down');
    default:
      return st;
  }
}

/** Folds one key into the editor. */
export function edit(st: EditorState, key: Key, ctx: EditorContext): { state: EditorState; effect?: EditorEffect } {
  if (key.type === 'text') return { state: splice(st, st.cursor, st.cursor, key.text) };
  const { value: v, cursor: c } = st;
  const ctrl = key.ctrl === true;
  const meta = key.meta === true;
  switch (key.name) {
    case 'return': {
      const entries = pushEntry(st.entries, v);
      return { state: { ...initialEditor(entries) }, effect: { type: 'submit', line: v } };
    }
    case 'tab':
      return { state: tab(st, ctx) };
    case 'backspace':
      // Alt-Backspace kills the word before the cursor.
      return { state: meta ? splice(st, wordLeft(v, c), c) : splice(st, prevChar(v, c), c) };
    case 'delete':
      return { state: splice(st, c, nextChar(v, c)) };
    case 'left':
      return { state: moveTo(st, ctrl || meta ? wordLeft(v, c) : prevChar(v, c)) };
    case 'right':
      return { state: moveTo(st, ctrl || meta ? wordRight(v, c) : nextChar(v, c)) };
    case 'home':
      return { state: moveTo(st, 0) };
    case 'end':
      return { state: moveTo(st, v.length) };
    case 'up':
    case 'down':
      return { state: recall(st, key.name) };
    case 'escape':
      if (!meta) return { state: { ...st, candidates: [] }, effect: { type: 'escape' } };
  }
  if (ctrl && key.name === 'c') {
    if (ctx.busy || v === '') return { state: { ...st, candidates: [] }, effect: { type: 'interrupt' } };
    return { state: { ...st, value: '', cursor: 0, candidates: [], history: freshCursor(st.entries) } };
  }
  if (ctrl && key.name === 'd') {
    // readline: Ctrl-D deletes under the cursor, and quits only on an empty line.
    if (v === '') return { state: st, effect: { type: 'eof' } };
    return { state: splice(st, c, nextChar(v, c)) };
  }
  if (ctrl || meta) return { state: letter(st, key.name, meta) };
  return { state: st };
}
