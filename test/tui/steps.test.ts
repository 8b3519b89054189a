import { describe, expect, it } from 'vitest';
import { applyEvent, finishStep, SERIES_MAX, startStep, type Step } from '../../src/tui/steps.js';
import type { WorkbenchEvent } from '../../src/engine/worker-bridge.js';

const fold = (events: WorkbenchEvent[], at = (i: number) => 1000 + i * 1000): Step =>
  events.reduce((s, e, i) => applyEvent(s, e, at(i)), startStep(1, 'x', 1000));

describe('step reducer', () => {
  it('joins streamed tokens into one block until a line interrupts', () => {
    const s = fold([
      { type: 'token', text: 'Hel' },
      { type: 'token', text: 'lo' },
      { type: 'log', level: 'warn', message: 'slow' },
      { type: 'token', text: '!' },
      { type: 'output', line: 'a table row' },
    ]);
    expect(s.blocks).toEqual([
      { kind: 'tokens', text: 'Hello' },
      { kind: 'line', text: 'warning: slow', tone: 'warn' },
      { kind: 'tokens', text: '!' },
      { kind: 'line', text: 'a table row', tone: 'plain' },
    ]);
  });

  it('turns a result into its message and metric lines', () => {
    const s = fold([{ type: 'result', result: { message: 'wrote it\ntwice', metrics: { loss: 1.23456 } } }]);
    expect(s.blocks.map((b) => b.text)).toEqual(['wrote it', 'twice', 'loss: 1.235']);
  });

  it('estimates an ETA from the rate when the tool gives none', () => {
    // 10 steps in the 1 s between the two events: the 80 left take 8 s.
    const s = fold([
      { type: 'progress', label: 'train', current: 10, total: 100 },
      { type: 'progress', label: 'train', current: 20, total: 100 },
    ]);
    expect(s.progress?.etaS).toBeCloseTo(8, 5);
    const given = fold([{ type: 'progress', label: 'train', current: 1, total: 4, etaS: 99 }]);
    expect(given.progress?.etaS).toBe(99);
  });

  it('keeps metric series for the chart, capped', () => {
    const events: WorkbenchEvent[] = Array.from({ length: SERIES_MAX + 5 }, (_, i) => ({ type: 'metric', name: 'loss', value: i }));
    const s = fold(events);
    expect(s.series.loss).toHaveLength(SERIES_MAX);
    expect(s.series.loss.at(-1)).toBe(SERIES_MAX + 4);
    expect(s.metrics.loss).toBe(SERIES_MAX + 4);
  });

  it('finishes with the status and the first line of the error', () => {
    const failed = finishStep(fold([{ type: 'error', message: 'bad flag\nstack' }]), { ok: false, failure: 'usage', error: 'bad flag' }, 5000);
    expect(failed).toMatchObject({ status: 'error', error: 'bad flag', durationMs: 4000 });
    expect(finishStep(startStep(2, 'y', 0), { ok: false, failure: 'cancelled' }, 10).status).toBe('cancelled');
    expect(finishStep(startStep(3, 'z', 0), { ok: true }, 10)).toMatchObject({ status: 'ok', error: undefined });
  });

  it('takes the duration the step recorded over its own clock', () => {
    expect(finishStep(startStep(4, 'w', 0), { ok: true, durationMs: 7 }, 5000).durationMs).toBe(7);
    expect(finishStep(startStep(5, 'v', 0), { ok: false, failure: 'cancelled', durationMs: 9 }, 5000).durationMs).toBe(9);
  });
});
