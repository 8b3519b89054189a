/**
 * Ready-made ONNX models in the transformers.js layout (models/onnx-layout.ts), for
 * architectures we may not own: transformers.js (@huggingface/transformers) loads the chosen
 * variant into onnxruntime-node sessions — the same onnxruntime as ours — and runs the forward
 * pass; tokenizing and sampling stay ours. Imported only when such a model is used: the
 * library is large.
 */
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../core/tool.js';
import type { OnnxVariant } from '../models/onnx-layout.js';
import type { TextTokenizer } from '../models/tokenizer.js';
import type { Decoder } from '../runtime/decoder.js';
import { decoderSessionOptions } from '../runtime/session.js';

/** A transformers.js-layout model in memory. */
export interface OnnxModel {
  /** The model root (absolute): config.json, tokenizer files, onnx/. */
  dir: string;
  /** The variant transformers.js runs. */
  variant: OnnxVariant;
  /** config.json as parsed. */
  config: Record<string, unknown>;
  /** Its model_type, as transformers.js reads it (any, not only the families we own). */
  modelType: string;
  tokenizer: TextTokenizer | null;
  /** Positions the model reads at most (Infinity when config.json does not say). */
  maxPositions: number;
  /**
   * The decoder for generation ('last') or scoring ('all'), one of each per model, as our
   * sessions are: its KV cache outlives a step, so a chat's next turn reads the earlier ones
   * from it (one tool runs at a time).
   */
  decoder(logits: 'last' | 'all'): Promise<Decoder>;
  /** Frees the native sessions. */
  release(): Promise<void>;
}

/** Names configs give the context length (GPT-2 style first, then the others transformers.js knows). */
const POSITION_KEYS = ['n_positions', 'max_position_embeddings', 'n_ctx', 'max_seq_len', 'seq_length', 'max_sequence_length'];

function maxPositionsOf(config: Record<string, unknown>): number {
  for (const key of POSITION_KEYS) if (typeof config[key] === 'number' && (config[key] as number) > 0) return config[key] as number;
  return Infinity;
}

export async function loadOnnxModel(
  dir: string,
  variant: OnnxVariant,
  config: Record<string, unknown>,
  tokenizer: TextTokenizer | null,
  opts: { threads?: number } = {},
): Promise<OnnxModel> {
  const tjs = await import('@huggingface/transformers');
  // Offline, quiet and cacheless: the files are local (our hub code fetched them) and its
  // warnings would land in the middle of the sampler's output.
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.useFSCache = false;
  tjs.env.logLevel = tjs.LogLevel.ERROR;
  let pretrained: Awaited<ReturnType<typeof tjs.AutoModelForCausalLM.from_pretrained>>;
  try {
    pretrained = await tjs.AutoModelForCausalLM.from_pretrained(dir, {
      dtype: variant.dtype,
      model_file_name: variant.base,
      device: 'cpu',
      local_files_only: true,
      session_options: decoderSessionOptions(opts.threads ?? os.availableParallelism()),
    } as Parameters<typeof tjs.AutoModelForCausalLM.from_pretrained>[1]);
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new UserError(`transformers.js cannot load ${path.basename(dir)} (${variant.file}): ${why}`, { cause: err });
  }
  const { TransformersJsDecoder } = await import('../runtime/transformers-js-decoder.js');
  const limits = { maxPositions: maxPositionsOf(config), vocabSize: typeof config.vocab_size === 'number' ? config.vocab_size : 0 };
  const declared = config.model_type;
  const decoders = new Map<'last' | 'all', Decoder>();
  return {
    dir,
    variant,
    config,
    modelType: typeof declared === 'string' ? declared : 'unknown model_type',
    tokenizer,
    maxPositions: limits.maxPositions,
    decoder: async (logits) => {
      let d = decoders.get(logits);
      if (!d) decoders.set(logits, (d = new TransformersJsDecoder(pretrained, { ...limits }, logits)));
      return d;
    },
    release: async () => {
      await pretrained.dispose();
    },
  };
}
