import { arg, defineTool } from '../../src/core/tool.js';
import { deviceArg, notAvailableYet, requireCpu } from '../shared.js';

export default defineTool({
  summary: 'Generate text from the model, streaming tokens',
  description:
    'Samples with temperature, top-k, top-p and a repetition penalty (--no-do-sample = greedy),\n' +
    'stops at EOS or after max_new_tokens. With --json the result holds prompt_ids, generated_ids,\n' +
    'text and tokens_per_s.',
  args: {
    model_path: arg.modelIn(),
    prompt: arg.string('Once upon a time', 'text to continue'),
    max_new_tokens: arg.integer(50, 'tokens to generate at most', { min: 1 }),
    do_sample: arg.boolean(true, 'sample (false = greedy decoding)'),
    temperature: arg.number(0.6, 'softmax temperature', { gt: 0 }),
    top_k: arg.integer(50, 'keep the k most likely tokens (0 = all)', { min: 0 }),
    top_p: arg.number(0.95, 'keep the smallest set of tokens with this probability mass', { gt: 0, max: 1 }),
    repetition_penalty: arg.number(1.0, 'divide the logits of tokens already seen (1 = off)', { gt: 0 }),
    seed: arg.seed(),
    device: deviceArg(),
  },
  async run(_ctx, args) {
    requireCpu(args.device);
    throw notAvailableYet('infer/sampler', 3);
  },
});
