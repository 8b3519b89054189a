/**
 * The seam between text tools and engines: infer/sampler asks the engine for a Generator,
 * eval/perplexity for a Scorer, and neither cares whether our graphs (a safetensors
 * checkpoint of a family we own) or transformers.js (a ready-made ONNX model) run the model.
 */
import type { TextTokenizer } from '../models/tokenizer.js';
import type { Decoder } from '../runtime/decoder.js';
import type { GenerateOptions, Generation } from '../runtime/generate.js';
import type { Score, ScoreOptions } from '../runtime/score.js';

/** What both kinds share. */
export interface TextModel {
  /** The model's directory (absolute): its tokenizer files and chat template live there. */
  dir: string;
  /** Null when the directory holds no tokenizer files. */
  tokenizer: TextTokenizer | null;
  /** Who runs it, for messages and the state panel: `smolbox` or `transformers.js (onnx/model_q4.onnx)`. */
  engine: string;
  /** Positions the model reads at most (Infinity when its config does not say). */
  maxPositions: number;
}

export interface Generator extends TextModel {
  /** Generates after `promptIds`, streaming each id to `opts.onToken`. */
  generate(promptIds: readonly number[], opts: GenerateOptions): Promise<Generation>;
}

export interface Scorer extends TextModel {
  /** Mean NLL per token of `stream`, in windows of `opts.context` tokens. */
  score(stream: Int32Array, opts: ScoreOptions): Promise<Score>;
}

/** A Generator over a decoder made for generation (last-position logits). */
export function generatorOver(model: TextModel, decoder: () => Promise<Decoder>): Generator {
  return {
    ...model,
    async generate(promptIds, opts) {
      const { generate } = await import('../runtime/generate.js');
      return generate(await decoder(), promptIds, opts);
    },
  };
}

/** A Scorer over a decoder made for scoring (logits at every position). */
export function scorerOver(model: TextModel, decoder: () => Promise<Decoder>): Scorer {
  return {
    ...model,
    async score(stream, opts) {
      const { scoreTokens } = await import('../runtime/score.js');
      return scoreTokens(await decoder(), stream, opts);
    },
  };
}
