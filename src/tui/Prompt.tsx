/**
 * The workbench's command line. Keys come from useKeys one at a time, in the order typed, and
 * are folded by the line editor (line-editor.ts) into a ref, so Enter submits what was typed
 * even when it arrives in the same chunk as the text; the component state is only a copy to
 * draw. The prompt takes keys while a step runs too: those lines wait in the app's queue.
 */
import { Box, Text } from 'ink';
import React, { useRef, useState } from 'react';
import type { Completion } from '../core/completion.js';
import { edit, type EditorState, initialEditor } from './line-editor.js';
import { useKeys } from './use-keys.js';
import { useTheme } from './theme.js';

export interface PromptProps {
  /** Earlier lines, oldest first, as loaded when the workbench opened. */
  entries: readonly string[];
  complete: (line: string, cursor: number) => Completion;
  /** Whether a step runs now; asked at each key, as several keys of one chunk act before a render. */
  busy: () => boolean;
  onSubmit: (line: string) => void;
  /** Ctrl-C while a step runs or on an empty line (on a line with text it clears the line). */
  onInterrupt: () => void;
  /** Ctrl-D on an empty line. */
  onEof: () => void;
  /** Esc. */
  onEscape?: () => void;
  /** What the prompt is for: `smox` (lines of the CLI) or `chat` (messages to the model). */
  sign?: 'smox' | 'chat';
  /** Any key but Ctrl-C. */
  onKey?: () => void;
  width: number;
}

/** Rows of candidates shown at most; the rest are counted. */
const MAX_CANDIDATE_ROWS = 4;

/** The candidates in columns that fit `width`, at most MAX_CANDIDATE_ROWS rows. */
export function candidateRows(candidates: readonly string[], width: number): string[] {
  const cell = Math.min(width, Math.max(...candidates.map((c) => c.length)) + 2);
  const perRow = Math.max(1, Math.floor(width / cell));
  const rows: string[] = [];
  for (let i = 0; i < candidates.length && rows.length < MAX_CANDIDATE_ROWS; i += perRow) {
    rows.push(
      candidates
        .slice(i, i + perRow)
        .map((c) => (c.length > cell - 1 ? `${c.slice(0, cell - 2)}…` : c).padEnd(cell))
        .join('')
        .trimEnd(),
    );
  }
  const shown = Math.min(candidates.length, rows.length * perRow);
  if (shown < candidates.length) rows.push(`… ${candidates.length - shown} more`);
  return rows;
}

const PLACEHOLDERS = {
  smox: 'a tool or command (Tab completes, help lists them)',
  chat: 'a message for the model (/exit, Esc or Ctrl-D leaves the chat)',
};

export function Prompt({ entries, complete, busy, onSubmit, onInterrupt, onEof, onEscape, sign = 'smox', onKey, width }: PromptProps) {
  const theme = useTheme();
  const editor = useRef<EditorState>(initialEditor(entries));
  const [shown, setShown] = useState(editor.current);

  useKeys((key) => {
    const { state, effect } = edit(editor.current, key, { complete, busy: busy() });
    editor.current = state;
    setShown(state);
    if (!(key.type === 'key' && key.ctrl && key.name === 'c')) onKey?.();
    if (effect?.type === 'submit') onSubmit(effect.line);
    else if (effect?.type === 'interrupt') onInterrupt();
    else if (effect?.type === 'eof') onEof();
    else if (effect?.type === 'escape') onEscape?.();
  });

  const { value, cursor, candidates } = shown;
  const at = value.slice(cursor, cursor + (/[\uD800-\uDBFF]/.test(value[cursor] ?? '') ? 2 : 1));
  return (
    <Box flexDirection="column">
      <Box>
        <Box flexShrink={0}>
          <Text color={theme.tone('cyan')} bold>
            {`${sign}› `}
          </Text>
        </Box>
        {value === '' && theme.color ? (
          <Text color={theme.tone('gray')}>
            <Text inverse>{PLACEHOLDERS[sign][0]}</Text>
            {PLACEHOLDERS[sign].slice(1)}
          </Text>
        ) : (
          <Text>
            {value.slice(0, cursor)}
            <Text inverse>{at || ' '}</Text>
            {value.slice(cursor + at.length)}
          </Text>
        )}
      </Box>
      {candidates.length > 0 &&
        candidateRows(candidates, width).map((row, i) => (
          <Text key={i} color={theme.tone('gray')}>
            {row}
          </Text>
        ))}
    </Box>
  );
}
