import { arg, defineTool, UserError } from '../../src/core/tool.js';
import { engineOf } from '../shared.js';

export default defineTool({
  summary: 'Score the model on a dataset: mean NLL per token and perplexity',
  description: 'Reads the dataset\'s validation split when it has one. --json prints the numbers as one object.',
  args: {
    model_path: arg.modelIn(),
    dataset_path: arg.datasetIn(),
    max_tokens: arg.optionalInteger('score at most this many tokens (none: all)', { min: 2 }),
  },
  async run(ctx, args) {
    const engine = await engineOf(ctx);
    // Ours or a transformers.js ONNX model: the scorer hides which engine runs it.
    const scorer = await engine.scorer(args.model_path, { cwd: ctx.cwd, signal: ctx.signal, emit: ctx.emit });
    if (!scorer.tokenizer) throw new UserError(`${args.model_path} has no tokenizer files; scoring text needs tokenizer.json`);
    const { loadTextDataset, tokenizeSplit } = await import('../../src/data/index.js');
    const dataset = await loadTextDataset(args.dataset_path, { cwd: ctx.cwd, signal: ctx.signal, emit: ctx.emit });
    const split = dataset.splits.validation?.length ? 'validation' : dataset.splits.test?.length ? 'test' : 'train';
    const stream = tokenizeSplit(dataset, split, scorer.tokenizer, { signal: ctx.signal, emit: ctx.emit });
    if (stream.length < 2) throw new UserError(`${args.dataset_path} (${split} split) has fewer than 2 tokens; nothing to score`);
    const started = performance.now();
    const context = Math.min(scorer.maxPositions, 1024);
    const score = await scorer.score(stream, {
      context,
      maxTokens: args.max_tokens ?? undefined,
      signal: ctx.signal,
      onProgress: (current, total) => {
        const rate = current / ((performance.now() - started) / 1000);
        ctx.emit.progress({ label: 'score', current, total, unit: 'tok', etaS: (total - current) / rate });
      },
    });
    const perplexity = Math.exp(score.nll);
    return {
      metrics: { nll: score.nll, perplexity, tokens: score.tokens },
      message: ctx.json ? undefined : `${dataset.name} (${split}): ${score.tokens} tokens, mean NLL ${score.nll.toFixed(4)} nats, perplexity ${perplexity.toFixed(3)} (${scorer.engine})`,
      data: { dataset: dataset.name, split, nll: score.nll, perplexity, tokens: score.tokens, context, engine: scorer.engine },
    };
  },
});
