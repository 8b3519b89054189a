import { describe, expect, it } from 'vitest';
import { tokenize } from '../../src/tui/keys.js';

const key = (name: string, mods: { ctrl?: boolean; meta?: boolean } = {}) => ({ type: 'key', name, ...mods });
const text = (t: string) => ({ type: 'text', text: t });

describe('tokenize', () => {
  it('splits a line and its Enter, and the lines of a paste', () => {
    expect(tokenize('state\r')).toEqual([text('state'), key('return')]);
    expect(tokenize('a b\rc\nd\r\ne')).toEqual([text('a b'), key('return'), text('c'), key('return'), text('d'), key('return'), text('e')]);
  });

  it('names Tab, Backspace and Ctrl letters between text', () => {
    expect(tokenize('ab\tc\u007f\b')).toEqual([text('ab'), key('tab'), text('c'), key('backspace'), key('backspace')]);
    expect(tokenize('\u0001x\u0005\u0015\u000b\u0017\u0003\u0004')).toEqual([
      key('a', { ctrl: true }),
      text('x'),
      ...['e', 'u', 'k', 'w', 'c', 'd'].map((n) => key(n, { ctrl: true })),
    ]);
  });

  it('reads every escape sequence of a chunk', () => {
    expect(tokenize('\u001B[A\u001B[A')).toEqual([key('up'), key('up')]);
    expect(tokenize('\u001B[1;5D\u001B[1;5C\u001B[1;3D')).toEqual([key('left', { ctrl: true }), key('right', { ctrl: true }), key('left', { meta: true })]);
    expect(tokenize('\u001B[H\u001B[F\u001BOH\u001BOF\u001B[1~\u001B[4~\u001B[7~\u001B[8~\u001B[3~')).toEqual(
      ['home', 'end', 'home', 'end', 'home', 'end', 'home', 'end', 'delete'].map((n) => key(n)),
    );
    expect(tokenize('\u001BOd\u001BOc')).toEqual([key('left', { ctrl: true }), key('right', { ctrl: true })]);
  });

  it('reads Alt as an ESC prefix, and ESC alone as Escape', () => {
    expect(tokenize('x\u001Bb\u001Bf\u001BD')).toEqual([text('x'), key('b', { meta: true }), key('f', { meta: true }), key('d', { meta: true })]);
    expect(tokenize('\u001B\u007f')).toEqual([key('backspace', { meta: true })]);
    expect(tokenize('\u001B\u001B[D')).toEqual([key('left', { meta: true })]);
    expect(tokenize('\u001B')).toEqual([key('escape')]);
  });

  it('drops sequences that name nothing here, keeping what follows', () => {
    expect(tokenize('\u001B[200~ls\u001B[201~\u001B[I\u001B[15~x')).toEqual([text('ls'), text('x')]);
  });

  it('keeps characters beyond ASCII in the text', () => {
    expect(tokenize('héllo 🙂\r')).toEqual([text('héllo 🙂'), key('return')]);
  });
});
