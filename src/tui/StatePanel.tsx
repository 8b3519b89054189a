/**
 * The live state panel: the state's paths (shortened to fit), the model in the engine's memory
 * (architecture, parameters, the engine that runs it, dtype, memory), its tokenizer, and the
 * compute threads.
 */
import { Box, Text } from 'ink';
import React from 'react';
import type { SmolboxState } from '../core/state.js';
import type { EngineInfo } from '../engine/worker-bridge.js';
import { formatBytes, formatCount, shortenPath } from './format.js';
import { useTheme } from './theme.js';

export interface StatePanelProps {
  state: SmolboxState | null;
  info: EngineInfo | null;
  cwd: string;
  width: number;
  /** Tools loaded, null while they are being imported. */
  tools?: { all: number; user: number } | null;
}

const KEY_WIDTH = 14;

/** The panel's rows as [label, value]; values already fitted to `valueWidth`. */
export function stateRows(
  state: SmolboxState | null,
  info: EngineInfo | null,
  cwd: string,
  valueWidth: number,
  tools?: StatePanelProps['tools'],
): [string, string][] {
  const fit = (p: string | null | undefined) => (p ? shortenPath(p, cwd, valueWidth) : '—');
  const rows: [string, string][] = [
    ['model_path', fit(state?.model_path)],
    ['dataset_path', fit(state?.dataset_path)],
  ];
  // Output paths are usually unset between steps; shown only when someone set them.
  if (state?.output_model_path) rows.push(['output_model', fit(state.output_model_path)]);
  if (state?.output_dataset_path) rows.push(['output_dataset', fit(state.output_dataset_path)]);
  const m = info?.model;
  const cut = (s: string) => (s.length > valueWidth ? `${s.slice(0, valueWidth - 1)}…` : s);
  const size = (n: number | null) => (n === null ? 'ONNX' : `${formatCount(n)} params`);
  rows.push(['model', cut(m ? `${m.modelType} · ${size(m.parameters)}` : info ? 'none in memory' : 'engine starting…')]);
  if (m) {
    // `transformers.js (onnx/model_q4.onnx)` loses its folder before its file name when narrow.
    rows.push(['engine', cut(m.engine.length > valueWidth ? m.engine.replace('(onnx/', '(') : m.engine)]);
    rows.push(['weights', cut(`${m.dtype} · ${formatBytes(m.bytes)} in memory`)]);
    rows.push(['tokenizer', cut(m.tokenizer ?? 'none')]);
  }
  rows.push(['threads', info ? String(info.threads) : '…']);
  if (tools !== undefined) rows.push(['tools', tools ? `${tools.all}${tools.user ? ` (${tools.user} user)` : ''}` : '…']);
  return rows;
}

export function StatePanel({ state, info, cwd, width, tools }: StatePanelProps) {
  const theme = useTheme();
  // Two columns of border, two of padding.
  const valueWidth = Math.max(8, width - KEY_WIDTH - 4);
  return (
    <Box flexDirection="column" borderStyle="round" borderColor={theme.tone('gray')} paddingX={1} width={width}>
      <Text bold>state</Text>
      {stateRows(state, info, cwd, valueWidth, tools).map(([label, value]) => (
        <Box key={label}>
          <Box width={KEY_WIDTH} flexShrink={0}>
            <Text color={theme.tone('gray')}>{label}</Text>
          </Box>
          <Text wrap="truncate-end">{value}</Text>
        </Box>
      ))}
    </Box>
  );
}
