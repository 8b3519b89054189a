/**
 * This directory's recorded steps, newest last: ✓/✗, the tool or command, its key arguments
 * (as `smox history` chooses them) and how long it took. Re-read after every step.
 */
import { Box, Text } from 'ink';
import React from 'react';
import { formatDuration, keyArgs } from '../../commands/history.js';
import type { HistoryRecord } from '../core/history.js';
import type { ArgsSchema } from '../core/tool.js';
import { useTheme } from './theme.js';

export interface HistoryPanelProps {
  records: readonly HistoryRecord[];
  schemas: ReadonlyMap<string, ArgsSchema>;
  width: number;
  /** Rows shown: the newest ones. */
  rows?: number;
}

export interface HistoryRow {
  number: number;
  ok: boolean;
  what: string;
  args: string;
  duration: string;
}

export function historyRows(records: readonly HistoryRecord[], schemas: ReadonlyMap<string, ArgsSchema>, rows: number): HistoryRow[] {
  const first = Math.max(0, records.length - rows);
  return records.slice(first).map((r, i) => ({
    number: first + i + 1,
    ok: r.status === 'ok',
    what: r.action ? `${r.name} ${r.action}` : r.name,
    args: r.status === 'cancelled' ? 'cancelled' : keyArgs(r, schemas.get(r.name)),
    duration: formatDuration(r.duration_ms),
  }));
}

export function HistoryPanel({ records, schemas, width, rows = 5 }: HistoryPanelProps) {
  const theme = useTheme();
  const inner = width - 4;
  return (
    <Box flexDirection="column" borderStyle="round" borderColor={theme.tone('gray')} paddingX={1} width={width}>
      <Text bold>history{records.length > rows ? ` (last ${rows} of ${records.length})` : ''}</Text>
      {records.length === 0 && <Text color={theme.tone('gray')}>no steps here yet</Text>}
      {historyRows(records, schemas, rows).map((row) => {
        const head = `${row.ok ? '✓' : '✗'} ${row.what}`;
        const room = Math.max(0, inner - head.length - row.duration.length - 2);
        const args = row.args.length > room ? (room > 1 ? `${row.args.slice(0, room - 1)}…` : '') : row.args;
        return (
          <Box key={row.number} width={inner}>
            <Text color={theme.tone(row.ok ? 'green' : 'red')}>{row.ok ? '✓' : '✗'}</Text>
            <Text wrap="truncate-end"> {row.what}</Text>
            <Box flexGrow={1} paddingLeft={1}>
              <Text color={theme.tone('gray')} wrap="truncate-end">
                {args}
              </Text>
            </Box>
            <Text color={theme.tone('gray')}>{row.duration}</Text>
          </Box>
        );
      })}
    </Box>
  );
}
