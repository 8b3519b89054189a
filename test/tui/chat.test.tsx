/**
 * Chat mode in the workbench, with a real engine (in process) and a tiny ChatML model: two
 * turns typed as one chunk with their Enters run in order, the second carrying the first
 * through --messages and prefilled from the kept KV cache; the history records both as
 * sampler steps, and export-script's script replays them through the built `smox` to the same
 * greedy replies. Ctrl-C stops a reply and keeps it as the assistant's turn; /exit, Esc and
 * Ctrl-D leave the chat; bad chat flags are one line.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HistoryRecord, readHistory } from '../../src/core/history.js';
import { Engine } from '../../src/engine/engine.js';
import { cliPath, ensureBuilt } from '../cli/built-cli.js';
import { CHATML_TEMPLATE, writeChatModel } from '../tools/fixtures.js';
import { makeDemoTools } from './fixtures.js';
import { type Bench, KEYS, openWorkbench } from './harness.js';

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));
let toolsDir: string;
let modelsDir: string;
let model: string;
beforeAll(() => {
  toolsDir = makeDemoTools();
  modelsDir = tmp('smox-chat-models-');
  // 2048 positions: room for a reply long enough to stop with Ctrl-C.
  model = writeChatModel(path.join(modelsDir, 'chat'), CHATML_TEMPLATE, { config: { n_positions: 2048 }, seed: 3 });
});
afterAll(() => {
  fs.rmSync(toolsDir, { recursive: true, force: true });
  fs.rmSync(modelsDir, { recursive: true, force: true });
});

async function withChatBench(fn: (wb: Bench) => Promise<void>) {
  const engine = new Engine({ threads: 1 });
  const wb = await openWorkbench({ toolsDir, engine });
  try {
    await fn(wb);
  } finally {
    await wb.cleanup();
    await engine.release();
  }
}

/** Writes a chunk (keys with their Enters) and waits until `n` steps have finished. */
async function send(wb: Bench, chunk: string, n: number, what: string) {
  wb.write(chunk);
  await wb.waitFor(() => wb.finished.length >= n, what);
}

/** Waits until some of the reply to `message` is on screen, between the message and the panels. */
async function replyOnScreen(wb: Bench, message: string) {
  const live = new RegExp(`^you› ${message}\\n([\\s\\S]*?)^╭`, 'm');
  await wb.waitFor((f) => (live.exec(f)?.[1] ?? '').trim() !== '', `the reply to "${message}" to stream`);
}

const samplerRecords = (wb: Bench): HistoryRecord[] => readHistory(wb.cwd).filter((r) => r.name === 'infer/sampler');
const tokensOf = (wb: Bench, i: number) => wb.finished[i].blocks.filter((b) => b.kind === 'tokens').map((b) => b.text).join('');
const linesOf = (wb: Bench, i: number) => wb.finished[i].blocks.map((b) => b.text).join('\n');

describe('chat mode', () => {
  beforeAll(() => ensureBuilt());

  it('runs typed turns with the conversation and its KV cache kept, records them, and export-script replays the same replies', () =>
    withChatBench(async (wb) => {
      await send(wb, `set model_path ${model}\r`, 1, 'set');
      await send(wb, 'chat --system "Be brief." --max_new_tokens 12 --no-do-sample --seed 1\r', 2, 'chat to open');
      expect(linesOf(wb, 1)).toContain('chatting with');
      expect(wb.frame()).toMatch(/^chat›/m);

      // Both messages in one chunk, as a paste arrives: the second waits for the first reply.
      await send(wb, 'Hello there!\rAnd then?\r', 4, 'two turns');
      expect(wb.finished.slice(2).map((s) => [s.line, s.status, s.chat])).toEqual([
        ['Hello there!', 'ok', true],
        ['And then?', 'ok', true],
      ]);
      expect(wb.all()).toContain('you› Hello there!');
      const replies = [tokensOf(wb, 2), tokensOf(wb, 3)];
      // The second turn read the first from the cache; the first had nothing cached.
      expect(linesOf(wb, 2)).not.toContain('from the KV cache');
      const cached = /prompt (\d+) tokens, (\d+) from the KV cache/.exec(linesOf(wb, 3));
      expect(cached).not.toBeNull();
      expect(Number(cached![2])).toBeGreaterThan(Number(cached![1]) / 2);

      const [first, second] = samplerRecords(wb);
      expect(first.args).toMatchObject({ chat: true, echo: false, system: 'Be brief.', prompt: 'Hello there!', messages: '', do_sample: false, seed: 1, max_new_tokens: 12 });
      expect(second.args.prompt).toBe('And then?');
      expect(JSON.parse(second.args.messages as string)).toEqual([{ role: 'user', content: 'Hello there!' }, { role: 'assistant', content: replies[0] }]);

      await send(wb, '/exit\r', 5, '/exit');
      expect(linesOf(wb, 4)).toBe('left the chat after 2 turns');
      expect(wb.frame()).toMatch(/^smox›/m);
      await send(wb, 'export-script replay.sh\r', 6, 'export-script');
      const script = fs.readFileSync(path.join(wb.cwd, 'replay.sh'), 'utf8');
      const turns = script.split('\n').filter((l) => l.startsWith('smox infer/sampler'));
      expect(turns).toHaveLength(2);
      expect(turns[1]).toContain(`--messages '[{"role":"user","content":"Hello there!"},{"role":"assistant","content":`);

      // The script as bash runs it, `smox` on the PATH: each turn prints its reply.
      const bin = tmp('smox-bin-');
      fs.symlinkSync(cliPath, path.join(bin, 'smox'));
      const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, NO_COLOR: '1' };
      const replay = tmp('smox-chat-replay-');
      const r = spawnSync('bash', [path.join(wb.cwd, 'replay.sh')], { cwd: replay, encoding: 'utf8', env });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.indexOf(replies[0])).toBeGreaterThanOrEqual(0);
      expect(r.stdout.indexOf(replies[1], r.stdout.indexOf(replies[0]) + replies[0].length)).toBeGreaterThan(0);
      // Each turn's line once more with --json: the same greedy text, exactly.
      for (const [i, line] of turns.entries()) {
        const j = spawnSync('bash', ['-c', `${line} --json`], { cwd: replay, encoding: 'utf8', env });
        expect(j.status, j.stderr).toBe(0);
        const result = j.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.type === 'result');
        expect(result.result.data.text).toBe(replies[i]);
      }
      fs.rmSync(bin, { recursive: true, force: true });
      fs.rmSync(replay, { recursive: true, force: true });
    }), 120_000);

  it('stops a reply with Ctrl-C and keeps it as the assistant’s turn; Esc and Ctrl-D leave the chat', () =>
    withChatBench(async (wb) => {
      await send(wb, `set model_path ${model}\r`, 1, 'set');
      await send(wb, 'chat --max_new_tokens 2000 --no-do-sample\r', 2, 'chat to open');
      wb.write('Hi\r');
      // Some of the reply is on screen, between the message and the panels.
      await replyOnScreen(wb, 'Hi');
      await send(wb, KEYS.ctrlC, 3, 'the turn to stop');
      expect(wb.finished[2].status).toBe('cancelled');
      const partial = tokensOf(wb, 2);
      expect(partial.length).toBeGreaterThan(0);
      expect(wb.frame()).toMatch(/^chat›/m);

      // The next turn carries the stopped one (and is stopped too: its record is all we need).
      wb.write('Go on\r');
      await replyOnScreen(wb, 'Go on');
      await send(wb, KEYS.ctrlC, 4, 'the next turn to stop');
      const records = samplerRecords(wb);
      expect(records.map((r) => r.status)).toEqual(['cancelled', 'cancelled']);
      expect(JSON.parse(records[1].args.messages as string)).toEqual([{ role: 'user', content: 'Hi' }, { role: 'assistant', content: partial }]);

      await send(wb, '\u001B', 5, 'Esc to leave');
      expect(linesOf(wb, 4)).toBe('left the chat after 2 turns');
      expect(wb.frame()).toMatch(/^smox›/m);
      await send(wb, 'chat\r', 6, 'chat to open again');
      await send(wb, KEYS.ctrlD, 7, 'Ctrl-D to leave');
      expect(linesOf(wb, 6)).toBe('left the chat after 0 turns');
      expect(wb.exited()).toBeNull();
    }), 120_000);

  it('refuses flags the chat sets itself and bad sampler flags in one line, staying out of chat mode', () =>
    withChatBench(async (wb) => {
      await send(wb, 'chat --prompt hi\r', 1, 'chat --prompt');
      expect(wb.finished[0].error).toBe('chat sets --prompt itself (what you type is the prompt, the conversation is kept); leave it out');
      await send(wb, 'chat --temprature 2\r', 2, 'chat with a typo');
      expect(wb.finished[1].error).toBe('unknown flag --temprature; did you mean --temperature?');
      await send(wb, 'chat --help\r', 3, 'chat --help');
      expect(linesOf(wb, 2)).toMatch(/^usage: chat \[--system TEXT\]/);
      expect(wb.frame()).toMatch(/^smox›/m);
      expect(readHistory(wb.cwd)).toEqual([]);
    }));
});
