/**
 * infer/sampler --chat over several turns: --messages carries the earlier turns (inline JSON or
 * a file), and an engine that ran the previous turn keeps its KV cache, so the next turn's
 * prefill runs only the tokens after the longest prefix the cache holds — with the same greedy
 * reply as a fresh engine reading the whole conversation. A conversation past the model's
 * positions, and malformed --messages, are one-line errors.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { CHATML_TEMPLATE, run, writeChatModel } from './fixtures.js';

const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-chat-turns-'));
const engines: Engine[] = [];
const newEngine = () => {
  const e = new Engine({ threads: 1 });
  engines.push(e);
  return e;
};
afterAll(async () => {
  await Promise.all(engines.map((e) => e.release()));
  fs.rmSync(cwd, { recursive: true, force: true });
});

// 256 positions: room for a few turns of a character-level conversation.
const model = writeChatModel(path.join(cwd, 'chat'), CHATML_TEMPLATE, { config: { n_positions: 256 }, seed: 3 });

interface SamplerData {
  prompt_ids: number[];
  generated_ids: number[];
  text: string;
  cached_tokens: number;
  prefill_tokens: number;
}

const GREEDY = ['--max_new_tokens', '12', '--no-do-sample', '--seed', '1'];

async function turn(engine: Engine, prompt: string, messages: object[] | string | null, extra: string[] = []): Promise<SamplerData> {
  const m = messages === null ? [] : ['--messages', typeof messages === 'string' ? messages : JSON.stringify(messages)];
  const r = await run(cwd, engine, ['infer/sampler', '--model_path', model, '--chat', '--system', 'Be brief.', ...m, '--prompt', prompt, ...GREEDY, ...extra], true);
  expect(r.ok, r.error).toBe(true);
  return r.result?.data as SamplerData;
}

/** How many leading ids two lists share. */
function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

describe('infer/sampler --chat across turns', () => {
  it('runs only the new tokens of the second turn, and replies as a fresh run over the whole conversation does', async () => {
    const engine = newEngine();
    const first = await turn(engine, 'Hello there!', null);
    expect(first.cached_tokens).toBe(0);
    expect(first.prefill_tokens).toBe(first.prompt_ids.length);

    const history = [{ role: 'user', content: 'Hello there!' }, { role: 'assistant', content: first.text }];
    const second = await turn(engine, 'And then?', history);
    // The cache held the first prompt and every reply token but the last (never fed back).
    const inCache = [...first.prompt_ids, ...first.generated_ids.slice(0, -1)];
    const shared = commonPrefix(inCache, second.prompt_ids);
    expect(shared).toBe(inCache.length);
    expect(second.cached_tokens).toBe(shared);
    expect(second.prefill_tokens).toBe(second.prompt_ids.length - shared);
    expect(second.prefill_tokens).toBeLessThan(second.prompt_ids.length / 2);

    const fresh = await turn(newEngine(), 'And then?', history);
    expect(fresh.cached_tokens).toBe(0);
    expect(fresh.prompt_ids).toEqual(second.prompt_ids);
    expect(second.generated_ids).toEqual(fresh.generated_ids);
  });

  it('keeps only the common prefix when an earlier turn reads differently (an edited reply), still replying as a fresh run', async () => {
    const engine = newEngine();
    const first = await turn(engine, 'Hello there!', null);
    const edited = [{ role: 'user', content: 'Hello there!' }, { role: 'assistant', content: `No.${first.text}` }];
    const second = await turn(engine, 'Why not?', edited);
    expect(second.cached_tokens).toBe(commonPrefix(first.prompt_ids, second.prompt_ids));
    expect(second.cached_tokens).toBe(first.prompt_ids.length);
    const fresh = await turn(newEngine(), 'Why not?', edited);
    expect(second.generated_ids).toEqual(fresh.generated_ids);
  });

  it('reads --messages from a .json file as from inline JSON', async () => {
    const history = [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }];
    fs.writeFileSync(path.join(cwd, 'conversation.json'), JSON.stringify(history));
    const fromFile = await turn(newEngine(), 'Go on', 'conversation.json');
    const inline = await turn(newEngine(), 'Go on', history);
    expect(fromFile.prompt_ids).toEqual(inline.prompt_ids);
    expect(fromFile.generated_ids).toEqual(inline.generated_ids);
  });

  it('refuses a conversation longer than the model reads, in one line', async () => {
    const long = [{ role: 'user', content: 'x'.repeat(200) }, { role: 'assistant', content: 'y'.repeat(40) }];
    const r = await run(cwd, newEngine(), ['infer/sampler', '--model_path', model, '--chat', '--messages', JSON.stringify(long), '--prompt', 'and?', ...GREEDY]);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/^the conversation is \d+ tokens through the chat template, and the model reads at most 255 before replying; start a new conversation/);
  });

  it('names the culprit of bad --messages in one line', async () => {
    const engine = newEngine();
    const fail = async (argv: string[]) => {
      const r = await run(cwd, engine, ['infer/sampler', '--model_path', model, ...argv, '--prompt', 'x', ...GREEDY]);
      expect(r.ok).toBe(false);
      expect(r.error!.split('\n')).toHaveLength(1);
      return r.error;
    };
    expect(await fail(['--messages', '[]'])).toBe('--messages is a chat conversation: add --chat');
    expect(await fail(['--chat', '--messages', '[{"role": "user"'])).toMatch(/^--messages is not valid JSON/);
    expect(await fail(['--chat', '--messages', '[{"role": "robot", "content": "x"}]'])).toBe('--messages: message 1 has role "robot"; roles are system, user, assistant');
    expect(await fail(['--chat', '--messages', '[{"role": "user"}]'])).toBe('--messages: message 1 (user) needs its text as a string "content"');
    expect(await fail(['--chat', '--messages', 'missing.json'])).toMatch(/^--messages missing\.json: cannot read it \(ENOENT\)/);
    expect(await fail(['--chat', '--system', 'S', '--messages', '[{"role": "system", "content": "T"}]'])).toBe('--system and a system message in --messages: give the system message once');
  });
});
