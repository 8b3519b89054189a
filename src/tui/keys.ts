/**
 * Raw terminal input → keys. A chunk read from stdin in raw mode may hold many keys: a paste,
 * a fast `tmux send-keys 'state' Enter`, two arrows sent together. `tokenize` splits it into
 * keys in order so each acts on its own: printable runs become one text key, control bytes
 * name their Ctrl key, and ESC sequences (CSI `ESC [`, SS3 `ESC O`, Alt as an ESC prefix)
 * become named keys with their modifiers. Pure, so it is tested on byte strings.
 *
 * Sequences follow xterm's (https://invisible-island.net/xterm/ctlseqs/ctlseqs.html): a CSI
 * modifier parameter is 1 + (Shift 1 | Alt 2 | Ctrl 4), so `ESC [1;5D` is Ctrl-←.
 */

export type KeyName =
  | 'return'
  | 'tab'
  | 'backspace'
  | 'delete'
  | 'escape'
  | 'up'
  | 'down'
  | 'left'
  | 'right'
  | 'home'
  | 'end'
  | 'pageup'
  | 'pagedown';

export type Key =
  /** Printable characters typed or pasted, in one run. */
  | { type: 'text'; text: string }
  /** A named key, or a letter with Ctrl or Alt held (`name` is then the lower-case letter). */
  | { type: 'key'; name: KeyName | string; ctrl?: boolean; meta?: boolean };

const ESC = '\u001B';

/** CSI / SS3 final bytes of the cursor keys. */
const CURSOR_FINALS: Record<string, KeyName> = { A: 'up', B: 'down', C: 'right', D: 'left', H: 'home', F: 'end' };
/** `ESC [ n ~` keys (VT220 style; 1/7 and 4/8 are Home/End in different terminals). */
const TILDE_KEYS: Record<string, KeyName> = { '1': 'home', '7': 'home', '4': 'end', '8': 'end', '3': 'delete', '5': 'pageup', '6': 'pagedown' };
/** rxvt sends Ctrl-arrows as `ESC O` + a lower-case letter. */
const RXVT_CTRL: Record<string, KeyName> = { a: 'up', b: 'down', c: 'right', d: 'left' };

function named(name: KeyName | string, mods: { ctrl?: boolean; meta?: boolean } = {}): Key {
  const key: Key = { type: 'key', name };
  if (mods.ctrl) key.ctrl = true;
  if (mods.meta) key.meta = true;
  return key;
}

/** The key of one control byte (below 0x20, or DEL). */
function controlKey(code: number): Key | null {
  if (code === 0x0d || code === 0x0a) return named('return');
  if (code === 0x09) return named('tab');
  // DEL is what Backspace sends; ^H is what some terminals send for it.
  if (code === 0x7f || code === 0x08) return named('backspace');
  if (code >= 0x01 && code <= 0x1a) return named(String.fromCharCode(code + 0x60), { ctrl: true });
  // NUL (Ctrl-Space), ^\ ^] ^^ ^_ have no use here.
  return null;
}

/** Modifiers from a CSI parameter list such as `1;5`. */
function modifiers(params: string): { ctrl?: boolean; meta?: boolean } {
  const m = Number(params.split(';')[1] ?? '1') - 1;
  return { ctrl: (m & 4) !== 0, meta: (m & 2) !== 0 };
}

/**
 * The key of the escape sequence at `i` (which holds ESC) and where the next key starts; null
 * for a sequence that names nothing here (focus reports, paste brackets, F-keys).
 */
function escapeKey(s: string, i: number): { key: Key | null; next: number } {
  const c = s[i + 1];
  if (c === undefined) return { key: named('escape'), next: i + 1 };
  if (c === '[') {
    let j = i + 2;
    while (j < s.length && /[0-9;:<=>?]/.test(s[j])) j++;
    if (j >= s.length) return { key: null, next: s.length };
    const params = s.slice(i + 2, j);
    const final = s[j];
    const next = j + 1;
    if (CURSOR_FINALS[final]) return { key: named(CURSOR_FINALS[final], modifiers(params)), next };
    if (final === '~') {
      const name = TILDE_KEYS[params.split(';')[0]];
      return { key: name ? named(name, modifiers(params)) : null, next };
    }
    return { key: null, next };
  }
  if (c === 'O') {
    const final = s[i + 2];
    if (final === undefined) return { key: named('o', { meta: true }), next: i + 2 };
    if (CURSOR_FINALS[final]) return { key: named(CURSOR_FINALS[final]), next: i + 3 };
    if (RXVT_CTRL[final]) return { key: named(RXVT_CTRL[final], { ctrl: true }), next: i + 3 };
    return { key: null, next: i + 3 };
  }
  if (c === ESC) {
    // ESC ESC [ D: some terminals send Alt-arrows as ESC before the arrow.
    const inner = escapeKey(s, i + 1);
    if (inner.key?.type === 'key') return { key: { ...inner.key, meta: true }, next: inner.next };
    return inner.key ? inner : { key: named('escape'), next: i + 1 };
  }
  // Alt-<key> arrives as ESC before the key.
  const code = c.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f) {
    const ctl = controlKey(code);
    return { key: ctl?.type === 'key' ? { ...ctl, meta: true } : null, next: i + 2 };
  }
  const ch = String.fromCodePoint(code);
  return { key: named(ch.toLowerCase(), { meta: true }), next: i + 1 + ch.length };
}

/** Splits one chunk of raw input into keys, in order. */
export function tokenize(chunk: string): Key[] {
  const keys: Key[] = [];
  let text = '';
  const flush = () => {
    if (text) keys.push({ type: 'text', text });
    text = '';
  };
  for (let i = 0; i < chunk.length; ) {
    const code = chunk.charCodeAt(i);
    if (code === 0x1b) {
      flush();
      const { key, next } = escapeKey(chunk, i);
      if (key) keys.push(key);
      i = next;
    } else if (code < 0x20 || code === 0x7f) {
      flush();
      const key = controlKey(code);
      if (key) keys.push(key);
      // CR LF (a pasted Windows line end) is one Enter, not two.
      i += code === 0x0d && chunk[i + 1] === '\n' ? 2 : 1;
    } else {
      text += chunk[i];
      i++;
    }
  }
  flush();
  return keys;
}
