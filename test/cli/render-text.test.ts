import { describe, expect, it } from 'vitest';
import type { ToolEvent } from '../../src/core/events.js';
import {
  createRenderer,
  formatError,
  formatEta,
  formatNumber,
  progressLine,
  type RenderOptions,
} from '../../src/core/render-text.js';

function setup(opts: Partial<RenderOptions> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  let t = 0;
  const r = createRenderer({
    out: { write: (s: string) => out.push(s) },
    err: { write: (s: string) => err.push(s) },
    json: false, color: false, tty: false, debug: false, columns: 80,
    now: () => t,
    ...opts,
  });
  return {
    r,
    out: () => out.join(''),
    err: () => err.join(''),
    tick: (ms: number) => { t += ms; },
  };
}

const progress = (current: number, total?: number, extra: Partial<ToolEvent> = {}): ToolEvent =>
  ({ type: 'progress', label: 'train', current, total, unit: 'step', ...extra }) as ToolEvent;

describe('text rendering', () => {
  it('streams tokens inline and breaks the line before a log or the result', () => {
    const s = setup();
    s.r.event({ type: 'token', text: 'Once' });
    s.r.event({ type: 'token', text: ' upon' });
    s.r.event({ type: 'log', level: 'info', message: 'half way' });
    s.r.event({ type: 'token', text: ' a time' });
    s.r.event({ type: 'result', result: { message: 'done', metrics: { tokens_per_s: 12.3456, n: 3 } } });
    s.r.finish();
    expect(s.out()).toBe('Once upon\nhalf way\n a time\ndone\ntokens_per_s: 12.35  n: 3\n');
    expect(s.err()).toBe('');
  });

  it('ends a token stream with a newline on finish', () => {
    const s = setup();
    s.r.event({ type: 'token', text: 'abc' });
    s.r.finish();
    expect(s.out()).toBe('abc\n');
  });

  it('prints warnings and errors on stderr, one line, details only with --debug', () => {
    const s = setup();
    s.r.event({ type: 'log', level: 'warn', message: 'careful' });
    s.r.event({ type: 'error', message: 'bad thing\nsecond line', detail: 'Error: at x.ts:1' });
    expect(s.err()).toBe('warning: careful\nsmox: error: bad thing\n');
    const d = setup({ debug: true });
    d.r.event({ type: 'error', message: 'bad', detail: 'Error: at x.ts:1' });
    expect(d.err()).toBe('smox: error: bad\nError: at x.ts:1\n');
  });

  it('colours the error red only when asked', () => {
    expect(formatError('x', true)).toBe('\x1b[31msmox: error: x\x1b[39m');
    expect(formatError('x', false)).toBe('smox: error: x');
  });

  it('without a terminal prints occasional plain progress lines', () => {
    const s = setup();
    for (let i = 0; i <= 100; i++) {
      s.r.event(progress(i, 100));
      s.tick(10);
    }
    const lines = s.err().trim().split('\n');
    expect(lines).toHaveLength(11); // every tenth, the last included, no bar characters
    expect(lines[0]).toBe('train 0% 0/100 step');
    expect(lines[10]).toBe('train 100% 100/100 step');
    expect(s.err()).not.toContain('\r');
  });

  it('without a terminal prints unknown-total progress at most every few seconds', () => {
    const s = setup();
    for (let i = 0; i < 10; i++) {
      s.r.event(progress(i));
      s.tick(1000);
    }
    expect(s.err().trim().split('\n')).toEqual(['train 0 step', 'train 5 step']);
  });

  it('on a terminal redraws one bar in place, throttled, and keeps the finished bar', () => {
    const s = setup({ tty: true });
    s.r.event(progress(0, 4));
    s.r.event(progress(1, 4)); // within the redraw interval: skipped
    s.tick(100);
    s.r.event(progress(2, 4, { etaS: 75, info: { loss: 2.3456 } } as Partial<ToolEvent>));
    s.r.event(progress(4, 4));
    const err = s.err();
    expect(err.split('\r\x1b[2K').filter(Boolean)).toHaveLength(3);
    expect(err).toContain('train [');
    expect(err).toContain('50% 2/4 step · eta 1m15s · loss 2.346');
    expect(err.endsWith('100% 4/4 step\n')).toBe(true);
  });

  it('on a terminal clears the bar for a log line and draws it again', () => {
    const s = setup({ tty: true });
    s.r.event(progress(1, 4));
    s.r.event({ type: 'log', level: 'info', message: 'saved checkpoint' });
    expect(s.out()).toBe('saved checkpoint\n');
    expect(s.err().match(/25% 1\/4/g)).toHaveLength(2);
  });

  it('shows metrics beside a live bar, as lines otherwise', () => {
    const s = setup({ tty: true });
    s.r.event(progress(1, 4));
    s.tick(100);
    s.r.event({ type: 'metric', name: 'loss', value: 1.5, step: 1 });
    expect(s.err()).toContain('loss 1.5');
    const p = setup();
    p.r.event({ type: 'metric', name: 'loss', value: 1.5, step: 1 });
    expect(p.out()).toBe('loss: 1.5 (step 1)\n');
  });

  it('with --json prints every event as one JSON line on stdout', () => {
    const s = setup({ json: true });
    const events: ToolEvent[] = [
      { type: 'token', text: 'a' },
      progress(1, 2),
      { type: 'result', result: { data: { text: 'a' } } },
    ];
    for (const e of events) s.r.event(e);
    s.r.finish();
    expect(s.out().trim().split('\n').map((l) => JSON.parse(l))).toEqual(events);
    expect(s.err()).toBe('');
  });
});

describe('formatting helpers', () => {
  it('formats ETAs, numbers and bars', () => {
    expect(formatEta(9)).toBe('9s');
    expect(formatEta(75)).toBe('1m15s');
    expect(formatEta(3725)).toBe('1h02m');
    expect(formatNumber(3)).toBe('3');
    expect(formatNumber(0.000012)).toBe('1.200e-5');
    expect(formatNumber(2.71828)).toBe('2.718');
    const line = progressLine({ type: 'progress', label: 'x', current: 5, total: 10 }, 40, true);
    expect(line).toMatch(/^x \[#+-+\] 50% 5\/10$/);
    expect(line.length).toBeLessThan(40);
  });

  it('drops whole trailing items from a progress line wider than the terminal, never cutting one', () => {
    const p = { type: 'progress' as const, label: 'train', current: 20, total: 30, unit: 'step', etaS: 2, info: { loss: 1.262, eval_loss: 1.5, tokens_per_s: 4550, lr: 3.667e-5 } };
    const wide = progressLine(p, 200, true);
    expect(wide).toMatch(/loss 1\.262 · eval_loss 1\.5 · tokens_per_s 4550 · lr 3\.667e-5$/);
    const narrow = progressLine(p, 70, true);
    expect(narrow.length).toBeLessThan(70);
    expect(narrow).toMatch(/^train (\[[#-]+\] )?66% 20\/30 step · eta 2s · loss 1\.262 · eval_loss 1\.5$/);
  });
});
