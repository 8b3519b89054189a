import fs from 'node:fs';
import path from 'node:path';
import { arg, defineTool, UserError } from '../../src/core/tool.js';
import type { ChatMessage } from '../../src/models/chat-template.js';
import { deviceArg, engineOf, requireCpu } from '../shared.js';

export default defineTool({
  summary: 'Generate text from the model, streaming tokens',
  description:
    'Samples with temperature, top-k, top-p and a repetition penalty (--no-do-sample = greedy),\n' +
    'stops at EOS or after max_new_tokens. With --json the result holds prompt_ids, generated_ids,\n' +
    'text and tokens_per_s. --chat sends the prompt as a user message (after --system, if given)\n' +
    'through the tokenizer\'s chat template; --messages adds the earlier turns of a conversation\n' +
    '(a JSON list, inline or in a .json file), as the workbench\'s chat records each turn:\n' +
    '  smox infer/sampler --chat --messages \'[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"}]\' --prompt "How are you?"\n' +
    'The KV cache of the earlier turns is kept in the workbench, so a turn runs only its new tokens.',
  args: {
    model_path: arg.modelIn(),
    prompt: arg.string('Once upon a time', 'text to continue (with --chat: the user message)'),
    chat: arg.boolean(false, "apply the tokenizer's chat template to the prompt"),
    system: arg.string('', 'system message (with --chat)'),
    messages: arg.string('', 'earlier turns (with --chat): a JSON list of {"role": "user"|"assistant"|"system", "content": …}, or a .json file holding one; --prompt is the next user message'),
    echo: arg.boolean(true, 'print the prompt before the generated text'),
    max_new_tokens: arg.integer(50, 'tokens to generate at most', { min: 1 }),
    do_sample: arg.boolean(true, 'sample (false = greedy decoding)'),
    temperature: arg.number(0.6, 'softmax temperature', { gt: 0 }),
    top_k: arg.integer(50, 'keep the k most likely tokens (0 = all)', { min: 0 }),
    top_p: arg.number(0.95, 'keep the smallest set of tokens with this probability mass', { gt: 0, max: 1 }),
    repetition_penalty: arg.number(1.0, 'divide the logits of tokens already seen (1 = off)', { gt: 0 }),
    seed: arg.seed(),
    device: deviceArg(),
  },
  async run(ctx, args) {
    requireCpu(args.device);
    if (args.prompt.length === 0) throw new UserError('--prompt is empty: give some text to continue');
    if (args.system && !args.chat) throw new UserError('--system is a chat message: add --chat');
    if (args.messages && !args.chat) throw new UserError('--messages is a chat conversation: add --chat');
    // Read before the model loads: a bad --messages fails at once.
    const messages = args.chat ? await conversation(args, ctx.cwd) : null;
    const engine = await engineOf(ctx);
    // Ours or a transformers.js ONNX model: the generator hides which engine runs it.
    const generator = await engine.generator(args.model_path, { cwd: ctx.cwd, signal: ctx.signal, emit: ctx.emit });
    const tokenizer = generator.tokenizer;
    if (!tokenizer) throw new UserError(`${args.model_path} has no tokenizer files; the sampler needs tokenizer.json to read the prompt`);
    // The template writes the special tokens itself: its text is encoded without adding any.
    const prompt = messages ? await chatPrompt(generator.dir, args.model_path, messages) : args.prompt;
    const promptIds = tokenizer.encode(prompt, { addSpecialTokens: !args.chat });
    const { maxPositions } = generator;
    if (args.chat && promptIds.length >= maxPositions) {
      // As llama.cpp does with context shift off (its default): an error, nothing dropped behind the user's back.
      throw new UserError(`the conversation is ${promptIds.length} tokens through the chat template, and the model reads at most ${maxPositions - 1} before replying; start a new conversation (or drop early turns from --messages)`);
    }
    const decoder = tokenizer.streamDecoder({ skipSpecialTokens: true });
    if (!ctx.json && args.echo) ctx.emit.token(prompt);
    const gen = await generator.generate(promptIds, {
      maxNewTokens: args.max_new_tokens,
      sampling: { doSample: args.do_sample, temperature: args.temperature, topK: args.top_k, topP: args.top_p, repetitionPenalty: args.repetition_penalty },
      seed: args.seed as number,
      stopIds: tokenizer.eosTokenIds,
      signal: ctx.signal,
      // A chat's earlier turns are in the cache when the workbench ran them: only the new part runs.
      reuseCache: args.chat,
      onToken: (id) => {
        // With --json the one result object carries the text; no event per token.
        const piece = decoder.push(id);
        if (piece && !ctx.json) ctx.emit.token(piece, id);
      },
    });
    const tail = decoder.flush();
    if (tail && !ctx.json) ctx.emit.token(tail);
    const text = tokenizer.decode(gen.generatedIds, { skipSpecialTokens: true });
    // The prompt runs as one batched pass: its rate is how fast a long prompt is read.
    const prefillTokensPerS = gen.prefillS > 0 ? gen.prefillTokens / gen.prefillS : 0;
    const stopped = gen.stopReason === 'eos' ? 'stopped at EOS' : gen.stopReason === 'positions' ? 'reached the model\'s last position' : 'max_new_tokens reached';
    const cached = gen.cachedTokens > 0 ? ` · prompt ${promptIds.length} tokens, ${gen.cachedTokens} from the KV cache` : '';
    return {
      metrics: { tokens_per_s: round(gen.tokensPerS), prefill_tokens_per_s: round(prefillTokensPerS), new_tokens: gen.generatedIds.length },
      message: ctx.json ? undefined : `\n${gen.generatedIds.length} tokens, ${gen.tokensPerS.toFixed(1)} tokens/s (${stopped}; ${generator.engine})${cached}`,
      data: {
        prompt_ids: promptIds, generated_ids: gen.generatedIds, text, tokens_per_s: gen.tokensPerS, stop_reason: gen.stopReason,
        cached_tokens: gen.cachedTokens, prefill_tokens: gen.prefillTokens, engine: generator.engine,
      },
    };
  },
});

async function chatPrompt(dir: string, name: string, messages: ChatMessage[]): Promise<string> {
  const { loadChatTemplate, renderChat } = await import('../../src/models/chat-template.js');
  return renderChat(loadChatTemplate(dir, name), messages);
}

/** --system, the earlier turns of --messages (inline JSON or a file), then --prompt as the user's turn. */
async function conversation(args: { system: string; messages: string; prompt: string }, cwd: string): Promise<ChatMessage[]> {
  const { parseMessages } = await import('../../src/models/chat-template.js');
  let earlier: ChatMessage[] = [];
  if (args.messages.trim().startsWith('[')) earlier = parseMessages(args.messages, '--messages');
  else if (args.messages) {
    const file = path.resolve(cwd, args.messages);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new UserError(`--messages ${args.messages}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a JSON list inline or a .json file`);
    }
    earlier = parseMessages(text, `--messages ${args.messages}`);
  }
  if (args.system && earlier.some((m) => m.role === 'system')) {
    throw new UserError('--system and a system message in --messages: give the system message once');
  }
  return [...(args.system ? [{ role: 'system' as const, content: args.system }] : []), ...earlier, { role: 'user', content: args.prompt }];
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
