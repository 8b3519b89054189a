/**
 * The workbench's command line: ink-text-input for editing, Tab for completion (one candidate
 * fills in, several fill in their common prefix and list under the prompt), Up/Down for the
 * line history. ink-text-input keeps its cursor where it was when the value changes from
 * outside, so after a completion or a history step it is remounted (a new `key`), which puts
 * the cursor at the end.
 */
import { Box, Text, useInput } from 'ink';
import TextInput from 'ink-text-input';
import React, { useEffect, useState } from 'react';
import type { Completion } from '../core/completion.js';
import { freshCursor, type HistoryCursor, walk } from './line-history.js';
import { useTheme } from './theme.js';

export interface PromptProps {
  /** Takes keys; false while a step runs. */
  active: boolean;
  /** Earlier lines, oldest first. */
  entries: readonly string[];
  complete: (line: string, cursor: number) => Completion;
  onSubmit: (line: string) => void;
  /** Ctrl-C on an empty line (on a line with text it clears the line). */
  onInterrupt: () => void;
  /** Ctrl-D. */
  onEof: () => void;
  /** The line was edited. */
  onEdit?: () => void;
  width: number;
  /** Shown in place of the prompt while inactive. */
  busyText?: string;
}

/** Rows of candidates shown at most; the rest are counted. */
const MAX_CANDIDATE_ROWS = 4;

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

export function Prompt({ active, entries, complete, onSubmit, onInterrupt, onEof, onEdit, width, busyText }: PromptProps) {
  const theme = useTheme();
  const [value, setValue] = useState('');
  const [cursor, setCursor] = useState<HistoryCursor>(() => freshCursor(entries));
  const [candidates, setCandidates] = useState<string[]>([]);
  const [mount, setMount] = useState(0);

  // The parent adds each submitted line; Up starts again from the newest.
  useEffect(() => setCursor(freshCursor(entries)), [entries]);

  const replace = (next: string) => {
    setValue(next);
    setMount((m) => m + 1);
  };

  const tab = (line: string) => {
    const done = applyCompletion(line, complete(line, line.length));
    if (done.value !== value) replace(done.value);
    setCandidates(done.candidates);
  };

  useInput(
    (input, key) => {
      if (key.ctrl && input === 'c') {
        if (value === '') return onInterrupt();
        setCandidates([]);
        replace('');
        onEdit?.();
      } else if (key.ctrl && input === 'd') {
        onEof();
      } else if (key.tab) {
        tab(value);
      } else if (key.upArrow || key.downArrow) {
        const moved = walk(entries, cursor, value, key.upArrow ? 'up' : 'down');
        setCursor(moved.cursor);
        setCandidates([]);
        if (moved.value !== value) replace(moved.value);
      }
    },
    { isActive: active },
  );

  const submit = (line: string) => {
    setValue('');
    setCandidates([]);
    setMount((m) => m + 1);
    onSubmit(line);
  };

  return (
    <Box flexDirection="column">
      <Box>
        <Box flexShrink={0}>
          <Text color={theme.tone('cyan')} bold>
            {'smox› '}
          </Text>
        </Box>
        {active ? (
          <TextInput
            key={mount}
            value={value}
            focus={active}
            // ink-text-input greys its placeholder through chalk, which ignores NO_COLOR.
            placeholder={theme.color ? 'a tool or command (Tab completes, help lists them)' : undefined}
            onChange={(v) => {
              // A Tab inside a chunk of input (a paste, a fast `tmux send-keys`) arrives as text.
              if (v.includes('\t')) return tab(v.replace(/\t/g, ''));
              setValue(v);
              setCandidates([]);
              onEdit?.();
            }}
            onSubmit={submit}
          />
        ) : (
          <Text color={theme.tone('gray')}>{busyText ?? ''}</Text>
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
