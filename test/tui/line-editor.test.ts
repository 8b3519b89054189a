import { describe, expect, it } from 'vitest';
import type { Completion } from '../../src/core/completion.js';
import { tokenize } from '../../src/tui/keys.js';
import { type EditorEffect, type EditorState, edit, initialEditor, wordLeft, wordRight } from '../../src/tui/line-editor.js';

const noCompletion = (_line: string, cursor: number): Completion => ({ candidates: [], common: '', start: cursor });

/** Folds raw input into the editor; returns the state and every effect, in order. */
function type(input: string, opts: { from?: EditorState; busy?: boolean; complete?: typeof noCompletion } = {}) {
  let state = opts.from ?? initialEditor([]);
  const effects: EditorEffect[] = [];
  for (const key of tokenize(input)) {
    const r = edit(state, key, { complete: opts.complete ?? noCompletion, busy: opts.busy ?? false });
    state = r.state;
    if (r.effect) effects.push(r.effect);
  }
  return { state, effects };
}

/** The line with a bar where the cursor stands. */
const show = (s: EditorState) => `${s.value.slice(0, s.cursor)}|${s.value.slice(s.cursor)}`;

describe('line editor', () => {
  it('submits each line of a chunk as typed, and keeps each in the history', () => {
    const { state, effects } = type('state\rls -x\rhalf');
    expect(effects).toEqual([
      { type: 'submit', line: 'state' },
      { type: 'submit', line: 'ls -x' },
    ]);
    expect(show(state)).toBe('half|');
    expect(state.entries).toEqual(['state', 'ls -x']);
  });

  it('moves and kills as readline does', () => {
    expect(show(type('hello world\u0001').state)).toBe('|hello world');
    expect(show(type('hello world\u0001\u0005').state)).toBe('hello world|');
    expect(show(type('abc\u0002\u0002\u0006').state)).toBe('ab|c');
    expect(show(type('hello world\u001B[D\u001B[D\u0015').state)).toBe('|ld');
    expect(show(type('hello world\u001B[D\u001B[D\u000b').state)).toBe('hello wor|');
    expect(show(type('set --model_path a/b\u0017').state)).toBe('set --model_path |');
    expect(show(type('abc\u001B[H\u001B[3~').state)).toBe('|bc');
    expect(show(type('abc\u001B[D\u001B[D\u007f').state)).toBe('|bc');
  });

  it('moves and kills by words with Alt and Ctrl-arrows', () => {
    expect(show(type('infer/sampler --top_k 5\u001Bb\u001Bb').state)).toBe('infer/sampler --|top_k 5');
    expect(show(type('infer/sampler --top_k\u0001\u001Bf').state)).toBe('infer|/sampler --top_k');
    expect(show(type('infer/sampler\u0001\u001Bd').state)).toBe('|/sampler');
    expect(show(type('one two\u001B[1;5D\u001B[1;5D\u001B[1;5C').state)).toBe('one| two');
    expect(show(type('one two\u001B\u007f').state)).toBe('one |');
    expect([wordLeft('a  b', 4), wordRight('a  b', 0)]).toEqual([3, 1]);
  });

  it('inserts in the middle, and steps over a surrogate pair as one character', () => {
    expect(show(type('ac\u001B[Db').state)).toBe('ab|c');
    expect(show(type('a🙂\u001B[D').state)).toBe('a|🙂');
    expect(type('a🙂\u007f').state.value).toBe('a');
  });

  it('walks the history with Up/Down and Ctrl-P/N, back to the draft', () => {
    const from = initialEditor(['one', 'two']);
    expect(show(type('dr\u001B[A\u001B[A', { from }).state)).toBe('one|');
    expect(show(type('dr\u0010\u0010\u000e\u000e', { from }).state)).toBe('dr|');
  });

  it('completes at the cursor, keeping the text after it', () => {
    const complete = (line: string, cursor: number): Completion =>
      line.endsWith('--st') ? { candidates: ['--steps'], common: '--steps', start: cursor - 4 } : noCompletion(line, cursor);
    const { state } = type('x --st --seed 1\u001B[1;5D\u001B[1;5D\u001B[1;5D\u001B[1;5C\t', { complete });
    expect(show(state)).toBe('x --steps | --seed 1');
  });

  it('Ctrl-C clears a line, interrupts on an empty one or while busy; Ctrl-D quits only when empty', () => {
    expect(type('abc\u0003')).toMatchObject({ state: { value: '' }, effects: [] });
    expect(type('\u0003').effects).toEqual([{ type: 'interrupt' }]);
    expect(type('abc\u0003', { busy: true })).toMatchObject({ state: { value: 'abc' }, effects: [{ type: 'interrupt' }] });
    expect(type('ab\u0001\u0004')).toMatchObject({ state: { value: 'b' }, effects: [] });
    expect(type('\u0004').effects).toEqual([{ type: 'eof' }]);
  });

  it('Esc asks the app (a chat leaves on it) and keeps the line; Alt-<key> sequences are not Esc', () => {
    expect(type('abc\u001B')).toMatchObject({ state: { value: 'abc' }, effects: [{ type: 'escape' }] });
    expect(type('abc\u001Bb').effects).toEqual([]);
  });
});
