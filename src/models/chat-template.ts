/**
 * A tokenizer's chat template: found as transformers finds it (chat_template.jinja beside the
 * tokenizer, else tokenizer_config.json's `chat_template`, a string or named templates with a
 * `default`), rendered with the messages, `add_generation_prompt` and the special tokens by
 * name (bos_token, eos_token, …), as transformers.js' apply_chat_template does; the prompt ids
 * are the rendered text encoded without added special tokens (the template writes them).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/tool.js';
import { renderTemplate } from './jinja.js';
import type { Value } from './jinja-values.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** The special-token names a template may use, as transformers.js passes them. */
const SPECIAL_TOKENS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'];

export interface ChatTemplate {
  template: string;
  /** Special tokens by name (their text), from tokenizer_config.json. */
  specialTokens: Record<string, string>;
}

function readJson(file: string): Record<string, unknown> {
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
}

/** The model directory's chat template; a one-line UserError naming `name` when it has none. */
export function loadChatTemplate(dir: string, name: string): ChatTemplate {
  const config = readJson(path.join(dir, 'tokenizer_config.json'));
  const file = path.join(dir, 'chat_template.jinja');
  let template: unknown = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : config.chat_template;
  if (Array.isArray(template)) template = (template as { name: string; template: string }[]).find((t) => t.name === 'default')?.template;
  if (typeof template !== 'string' || !template) {
    throw new UserError(`${name} has no chat template (neither chat_template.jinja nor tokenizer_config.json's chat_template); drop --chat to sample from a plain prompt`);
  }
  const specialTokens: Record<string, string> = {};
  for (const key of SPECIAL_TOKENS) {
    const v = config[key];
    const text = typeof v === 'string' ? v : v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string' ? (v as { content: string }).content : undefined;
    if (text) specialTokens[key] = text;
  }
  return { template, specialTokens };
}

/** The prompt text for `messages`, ending with the assistant's turn opened (add_generation_prompt). */
export function renderChat(chat: ChatTemplate, messages: ChatMessage[]): string {
  return renderTemplate(chat.template, {
    messages: messages as unknown as Value,
    add_generation_prompt: true,
    tools: null,
    documents: null,
    ...chat.specialTokens,
  });
}

const ROLES: readonly string[] = ['system', 'user', 'assistant'];

/**
 * Messages from JSON text (`[{"role": "user", "content": "Hi"}, …]`, as transformers'
 * apply_chat_template takes them); `source` names where the text came from in errors.
 */
export function parseMessages(text: string, source: string): ChatMessage[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${source} is not valid JSON (${(err as Error).message}); give a list such as [{"role": "user", "content": "Hi"}]`);
  }
  if (!Array.isArray(parsed)) throw new UserError(`${source} must be a JSON list of messages, such as [{"role": "user", "content": "Hi"}]`);
  return parsed.map((m: unknown, i) => {
    const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || !ROLES.includes(role)) {
      throw new UserError(`${source}: message ${i + 1} has role ${JSON.stringify(role)}; roles are ${ROLES.join(', ')}`);
    }
    if (typeof content !== 'string') throw new UserError(`${source}: message ${i + 1} (${role}) needs its text as a string "content"`);
    return { role: role as ChatMessage['role'], content };
  });
}
