import { arg, defineTool, UserError } from '../../src/core/tool.js';
import { deviceArg, engineOf, requireCpu } from '../shared.js';

export default defineTool({
  summary: 'Generate text from the model, streaming tokens',
  description:
    'Samples with temperature, top-k, top-p and a repetition penalty (--no-do-sample = greedy),\n' +
    'stops at EOS or after max_new_tokens. With --json the result holds prompt_ids, generated_ids,\n' +
    'text and tokens_per_s. --chat sends the prompt as a user message (after --system, if given)\n' +
    'through the tokenizer\'s chat template.',
  args: {
    model_path: arg.modelIn(),
    prompt: arg.string('Once upon a time', 'text to continue (with --chat: the user message)'),
    chat: arg.boolean(false, "apply the tokenizer's chat template to the prompt"),
    system: arg.string('', 'system message (with --chat)'),
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
    const engine = await engineOf(ctx);
    // Ours or a transformers.js ONNX model: the generator hides which engine runs it.
    const generator = await engine.generator(args.model_path, { cwd: ctx.cwd, signal: ctx.signal, emit: ctx.emit });
    const tokenizer = generator.tokenizer;
    if (!tokenizer) throw new UserError(`${args.model_path} has no tokenizer files; the sampler needs tokenizer.json to read the prompt`);
    // The template writes the special tokens itself: its text is encoded without adding any.
    const prompt = args.chat ? await chatPrompt(generator.dir, args.model_path, args.system, args.prompt) : args.prompt;
    const promptIds = tokenizer.encode(prompt, { addSpecialTokens: !args.chat });
    const decoder = tokenizer.streamDecoder({ skipSpecialTokens: true });
    if (!ctx.json) ctx.emit.token(prompt);
    const gen = await generator.generate(promptIds, {
      maxNewTokens: args.max_new_tokens,
      sampling: { doSample: args.do_sample, temperature: args.temperature, topK: args.top_k, topP: args.top_p, repetitionPenalty: args.repetition_penalty },
      seed: args.seed as number,
      stopIds: tokenizer.eosTokenIds,
      signal: ctx.signal,
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
    const prefillTokensPerS = gen.prefillS > 0 ? promptIds.length / gen.prefillS : 0;
    return {
      metrics: { tokens_per_s: round(gen.tokensPerS), prefill_tokens_per_s: round(prefillTokensPerS), new_tokens: gen.generatedIds.length },
      message: ctx.json ? undefined : `\n${gen.generatedIds.length} tokens, ${gen.tokensPerS.toFixed(1)} tokens/s (${gen.stopReason === 'eos' ? 'stopped at EOS' : gen.stopReason === 'positions' ? 'reached the model\'s last position' : 'max_new_tokens reached'}; ${generator.engine})`,
      data: { prompt_ids: promptIds, generated_ids: gen.generatedIds, text, tokens_per_s: gen.tokensPerS, stop_reason: gen.stopReason, engine: generator.engine },
    };
  },
});

async function chatPrompt(dir: string, name: string, system: string, user: string): Promise<string> {
  const { loadChatTemplate, renderChat } = await import('../../src/models/chat-template.js');
  const messages = [...(system ? [{ role: 'system' as const, content: system }] : []), { role: 'user' as const, content: user }];
  return renderChat(loadChatTemplate(dir, name), messages);
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
