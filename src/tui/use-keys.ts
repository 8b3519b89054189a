/**
 * Every key from the terminal, in order, however the input was chunked. Ink's `useInput`
 * hands a paste or `text\r` over as one string with its Enter folded in, and re-subscribes its
 * handler on every render, so keys written between a render and its effects reach a stale
 * closure. Here one listener is subscribed for the component's life and calls the latest
 * handler (kept in a ref) once per key of `tokenize`.
 */
import { useStdin } from 'ink';
import { useEffect, useRef } from 'react';
import { type Key, tokenize } from './keys.js';

export function useKeys(onKey: (key: Key) => void): void {
  // Ink reads stdin (in raw mode, while anyone asks for it) and emits what it read on this
  // emitter, an ESC sequence apart from the text around it; it is how useInput gets its input.
  const { setRawMode, internal_eventEmitter: emitter } = useStdin();
  const handler = useRef(onKey);
  handler.current = onKey;

  useEffect(() => {
    setRawMode(true);
    const listener = (chunk: string) => {
      for (const key of tokenize(chunk)) handler.current(key);
    };
    emitter.on('input', listener);
    return () => {
      emitter.off('input', listener);
      setRawMode(false);
    };
  }, [emitter, setRawMode]);
}
