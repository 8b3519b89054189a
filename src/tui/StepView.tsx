/**
 * One step in the output pane: the line as typed, its output (streamed tokens inline, printed
 * lines, the result), the progress bar with ETA and the latest metrics, a small loss chart
 * while training, and how it ended — ✓ with its duration, or one red line.
 */
import { Box, Text } from 'ink';
import React from 'react';
import { formatNumber, progressLine } from '../core/render-text.js';
import { formatDuration } from '../../commands/history.js';
import { chartRows } from './format.js';
import type { Block, Step } from './steps.js';
import { useTheme } from './theme.js';

/** The metric charted, and the rows the chart takes. */
const CHART_METRIC = 'loss';
const CHART_ROWS = 3;

export function LossChart({ values, width, label = CHART_METRIC }: { values: readonly number[]; width: number; label?: string }) {
  const theme = useTheme();
  const shown = values.slice(-Math.max(1, width - 12));
  const hi = formatNumber(Math.max(...shown));
  const lo = formatNumber(Math.min(...shown));
  const axis = Math.max(hi.length, lo.length);
  const rows = chartRows(shown, width - axis - 3, CHART_ROWS);
  return (
    <Box flexDirection="column">
      <Text color={theme.tone('gray')}>
        {label} over {values.length} steps
      </Text>
      {rows.map((row, i) => (
        <Text key={i}>
          <Text color={theme.tone('gray')}>{(i === 0 ? hi : i === rows.length - 1 ? lo : '').padStart(axis)} ┤</Text>
          <Text color={theme.tone('magenta')}>{row}</Text>
        </Text>
      ))}
    </Box>
  );
}

/**
 * The blocks to draw; with `tail`, only what fits in that many terminal lines, newest last.
 * The live step is drawn with a tail so the redrawn region stays shorter than the terminal
 * (Ink clears the whole screen otherwise); once finished it is printed in full.
 */
export function shownBlocks(step: Step, width: number, tail?: number): Block[] {
  const blocks = step.blocks.map((b) => (b.kind === 'tokens' ? { ...b, text: b.text.replace(/\n$/, '') } : b));
  if (tail === undefined) return blocks;
  const out: Block[] = [];
  let left = tail;
  for (let i = blocks.length - 1; i >= 0 && left > 0; i--) {
    const b = blocks[i];
    const lines = b.text.split('\n').flatMap((l) => wrapWidth(l, width));
    const keep = lines.slice(-left);
    left -= keep.length;
    out.unshift({ ...b, text: keep.join('\n') });
  }
  return out;
}

/** A line cut into pieces of `width` characters (how the terminal wraps it, near enough). */
function wrapWidth(line: string, width: number): string[] {
  const w = Math.max(1, width);
  if (line.length <= w) return [line];
  const pieces: string[] = [];
  for (let i = 0; i < line.length; i += w) pieces.push(line.slice(i, i + w));
  return pieces;
}

export function StepView({ step, width, tail, debug = false }: { step: Step; width: number; tail?: number; debug?: boolean }) {
  const theme = useTheme();
  const running = step.status === 'running';
  const chart = step.series[CHART_METRIC];
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text>
        <Text color={theme.tone('cyan')}>{step.chat ? 'you› ' : '› '}</Text>
        <Text bold>{step.line}</Text>
      </Text>
      {shownBlocks(step, width, tail).map((b, i) =>
        b.kind === 'tokens' ? (
          <Text key={i}>{b.text}</Text>
        ) : (
          <Text key={i} color={b.tone === 'warn' ? theme.tone('yellow') : b.tone === 'result' ? theme.tone('green') : undefined}>
            {b.text}
          </Text>
        ),
      )}
      {step.progress && <Text color={theme.tone(running ? 'cyan' : 'gray')}>{progressLine({ ...step.progress, info: { ...step.progress.info, ...step.metrics } }, width, true)}</Text>}
      {chart && chart.length > 1 && <LossChart values={chart} width={Math.min(width, 72)} />}
      {step.status === 'ok' && <Text color={theme.tone('gray')}>✓ {formatDuration(step.durationMs ?? 0)}</Text>}
      {step.status === 'cancelled' && <Text color={theme.tone('yellow')}>✗ cancelled after {formatDuration(step.durationMs ?? 0)}</Text>}
      {step.status === 'error' && <Text color={theme.tone('red')}>✗ {step.error ?? 'failed'}</Text>}
      {step.status === 'error' && debug && step.errorDetail && <Text color={theme.tone('gray')}>{step.errorDetail}</Text>}
      {running && step.cancelling && <Text color={theme.tone('yellow')}>cancelling… (Ctrl-C again quits at once)</Text>}
    </Box>
  );
}
