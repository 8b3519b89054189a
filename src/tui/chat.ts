/**
 * The workbench's chat mode, as pure functions. `chat [--system …] [sampling flags]` opens it;
 * each line typed is then a user turn, run as one ordinary step through the engine:
 *
 *   infer/sampler --chat --no-echo <the chat's flags> --messages=<earlier turns as JSON> --prompt=<line>
 *
 * so the history records every turn as a sampler step carrying the conversation so far, and
 * export-script replays the chat one `smox infer/sampler` line per turn. The engine keeps the
 * model and its KV cache between the turns (the sampler resumes from the cached prefix). A
 * reply stopped with Ctrl-C is kept as the assistant's turn, as far as it got.
 */
import { parseArgs } from '../core/parse-args.js';
import type { ChatMessage } from '../models/chat-template.js';
import { type ToolDefinition, UserError } from '../core/tool.js';
import type { WorkbenchEvent } from '../engine/worker-bridge.js';

/** The tool a turn runs. */
export const CHAT_TOOL = 'infer/sampler';
/** The word that opens a chat, and the line that leaves it. */
export const CHAT_WORD = 'chat';
export const LEAVE_CHAT = '/exit';

/** A turn of the conversation: the system message travels in the chat's flags, not here. */
export type ChatTurn = ChatMessage & { role: 'user' | 'assistant' };

export interface Chat {
  /** The sampler flags `chat` was opened with, passed to every turn. */
  flags: string[];
  /** The model its --model_path names; null when the state's model is used. */
  modelPath: string | null;
  /** The conversation so far (the system message travels in `flags`). */
  messages: ChatTurn[];
}

/** Sampler flags a chat sets itself, per turn. */
const OWN_FLAGS = ['chat', 'prompt', 'messages', 'echo'];

export const CHAT_USAGE = [
  'usage: chat [--system TEXT] [sampler flags: --max_new_tokens, --temperature, --top_k, --top_p, --do_sample, --seed, …]',
  '',
  'Talk with the model through its chat template: each line is a user message, the reply streams.',
  'The conversation and its KV cache are kept between turns; each turn is recorded as an',
  `${CHAT_TOOL} --chat step carrying the earlier turns (--messages), so export-script replays it.`,
  `Ctrl-C stops a reply (what it said so far is kept); ${LEAVE_CHAT}, Esc or Ctrl-D on an empty line leaves.`,
];

/**
 * A chat opened with `argv` (the words after `chat`), its flags checked against the sampler's
 * schema now rather than at the first turn; `help` when --help was asked for.
 */
export function openChat(argv: string[], sampler: Pick<ToolDefinition, 'args'>): Chat | { help: true } {
  const parsed = parseArgs(sampler, argv);
  if (parsed.help) return { help: true };
  const own = parsed.given.filter((name) => OWN_FLAGS.includes(name));
  if (own.length > 0) {
    throw new UserError(`chat sets --${own[0]} itself (what you type is the prompt, the conversation is kept); leave it out`);
  }
  const modelPath = parsed.given.includes('model_path') ? String(parsed.values.model_path) : null;
  return { flags: argv, modelPath, messages: [] };
}

/** The words of one turn: the sampler with the chat's flags, the conversation so far and the new message. */
export function turnWords(chat: Chat, text: string): string[] {
  // `--name=value` keeps a message that starts with `-` (or is `--help`) a value.
  const earlier = chat.messages.length > 0 ? [`--messages=${JSON.stringify(chat.messages)}`] : [];
  return [CHAT_TOOL, '--chat', '--no-echo', ...chat.flags, ...earlier, `--prompt=${text}`];
}

/**
 * Follows one turn's events: the reply as streamed (the sampler echoes nothing with --no-echo)
 * and, when it finishes, the text it returns (decoded from all its ids at once).
 */
export function replyCollector(): { onEvent: (e: WorkbenchEvent) => void; reply: () => string } {
  let streamed = '';
  let returned: string | undefined;
  return {
    onEvent(e) {
      if (e.type === 'token') streamed += e.text;
      if (e.type === 'result') {
        const text = (e.result.data as { text?: unknown } | undefined)?.text;
        if (typeof text === 'string') returned = text;
      }
    },
    reply: () => returned ?? streamed,
  };
}

/**
 * The chat after a turn: a reply that finished or was stopped joins the conversation with the
 * user's message; a turn that failed (a bad flag, a conversation past the model's positions)
 * leaves it as it was.
 */
export function afterTurn(chat: Chat, text: string, outcome: { ok: boolean; failure?: string }, reply: string): Chat {
  if (!outcome.ok && outcome.failure !== 'cancelled') return chat;
  return { ...chat, messages: [...chat.messages, { role: 'user', content: text }, { role: 'assistant', content: reply }] };
}
