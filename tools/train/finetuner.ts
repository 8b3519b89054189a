import { arg, defineTool } from '../../src/core/tool.js';
import path from 'node:path';
import { deviceArg, engineOf, requireCpu } from '../shared.js';

export default defineTool({
  summary: 'Fine-tune the model on the dataset (AdamW, warmup + decay, checkpoints, resume)',
  description:
    'Packs the dataset into blocks of max_seq_length tokens and trains every parameter.\n' +
    'Ctrl-C stops cleanly at a loadable checkpoint; --resume --output_model_path <it> continues\n' +
    'from it with the settings the interrupted run recorded there.',
  args: {
    model_path: arg.modelIn(),
    dataset_path: arg.datasetIn(),
    output_model_path: arg.modelOut(),
    num_train_epochs: arg.number(3, 'passes over the training split', { gt: 0 }),
    batch_size: arg.integer(8, 'sequences per micro-batch', { min: 1 }),
    learning_rate: arg.number(5e-5, 'peak learning rate', { gt: 0 }),
    // Not the seed's 512: a fixed default fails on any model with fewer positions (the shipped one has 256).
    max_seq_length: arg.optionalInteger("tokens per training sequence (none: the model's positions, at most 512)", { min: 2 }),
    max_steps: arg.optionalInteger('stop after this many optimizer steps (none: the epochs decide)', { min: 1 }),
    warmup_steps: arg.integer(0, 'linear warmup steps', { min: 0 }),
    lr_scheduler: arg.choice(['cosine', 'linear', 'constant'] as const, 'linear', 'decay after warmup'),
    weight_decay: arg.number(0, 'AdamW weight decay', { min: 0 }),
    grad_clip: arg.number(1, 'clip the global gradient norm to this (0 = off)', { min: 0 }),
    grad_accum: arg.integer(1, 'micro-batches per optimizer step', { min: 1 }),
    eval_every: arg.integer(0, 'evaluate every N steps (0 = at the end of each epoch)', { min: 0 }),
    save_every: arg.integer(0, 'checkpoint every N steps (0 = at the end of each epoch)', { min: 0 }),
    seed: arg.seed(),
    text_column: arg.optionalString('dataset column holding the text (none: "text" or the only string column)'),
    val_fraction: arg.number(0.05, 'held-out fraction when the dataset has no validation split', { min: 0, max: 0.5 }),
    resume: { ...arg.boolean(false, 'continue from the checkpoint in output_model_path'), resumes: true },
    device: deviceArg(),
  },
  async run(ctx, args) {
    requireCpu(args.device);
    const { finetune } = await import('../../src/runtime/finetune.js');
    // smolbox.json says how the model was made: a resumed run makes what a whole run makes, so
    // `resume` is not part of it (and the two hash the same in the history).
    const { resume: _resume, ...made } = args;
    const result = await finetune(
      {
        cwd: ctx.cwd, engine: await engineOf(ctx), signal: ctx.signal, emit: ctx.emit,
        model: args.model_path, dataset: args.dataset_path, outDir: path.resolve(ctx.cwd, args.output_model_path), args: made,
      },
      {
        epochs: args.num_train_epochs, batchSize: args.batch_size, learningRate: args.learning_rate, maxSeqLength: args.max_seq_length,
        maxSteps: args.max_steps, warmupSteps: args.warmup_steps, scheduler: args.lr_scheduler, weightDecay: args.weight_decay,
        gradClip: args.grad_clip, gradAccum: args.grad_accum, evalEvery: args.eval_every, saveEvery: args.save_every,
        seed: args.seed as number, valFraction: args.val_fraction, textColumn: args.text_column, resume: args.resume,
      },
    );
    const evalPart = result.evalLoss !== null ? `, eval loss ${result.evalLoss.toFixed(4)}` : '';
    const warmupS = Number(result.warmupS.toFixed(2));
    const warmup = `${warmupS.toFixed(1)} s`;
    // The rate leaves out the warm-up steps (ORT plans and allocates on its first runs); a run
    // of warm-up steps only has no other rate to give.
    const speed = result.steadySteps > 0
      ? `${Math.round(result.tokensPerS)} tokens/s after ${warmup} of warm-up`
      : `${Math.round(result.tokensPerS)} tokens/s in warm-up (${warmup}; later steps run faster)`;
    return {
      metrics: {
        loss: result.loss, ...(result.evalLoss !== null ? { eval_loss: result.evalLoss } : {}), steps: result.steps,
        tokens_per_s: Math.round(result.tokensPerS), warmup_s: warmupS,
      },
      message: `trained ${result.steps} step${result.steps === 1 ? '' : 's'}: loss ${result.loss.toFixed(4)}${evalPart}, ${speed}`,
      data: { curve: result.curve },
    };
  },
});
