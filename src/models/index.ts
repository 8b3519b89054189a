/**
 * The architecture registry: config.json's model_type picks the file (named as the
 * model_type). Adding a family is its file and one line here. SmolLM and TinyLlama checkpoints
 * say model_type "llama", so they need no entry of their own.
 */
import { UserError } from '../core/tool.js';
import type { Architecture, DecoderConfig } from './architecture.js';
import { gpt2 } from './gpt2.js';
import { llama } from './llama.js';
import { mistral } from './mistral.js';
import { qwen2 } from './qwen2.js';
import { granite } from './granite.js';
import { olmo2 } from './olmo2.js';
import { qwen3 } from './qwen3.js';
import { smollm3 } from './smollm3.js';
import { gpt_neox } from './gpt_neox.js';
import { phi } from './phi.js';
import { stablelm } from './stablelm.js';
import { starcoder2 } from './starcoder2.js';
import { gemma } from './gemma.js';
import { gemma2 } from './gemma2.js';
import { gemma3_text } from './gemma3_text.js';
import { gpt_neo } from './gpt_neo.js';
import { opt } from './opt.js';
import { phi3 } from './phi3.js';

const ARCHITECTURES: readonly Architecture<any>[] = [
  gpt2,
  llama,
  mistral,
  qwen2,
  qwen3,
  olmo2,
  granite,
  smollm3,
  gpt_neox,
  phi,
  stablelm,
  starcoder2,
  gemma,
  gemma2,
  gemma3_text,
  gpt_neo,
  opt,
  phi3,
];

/** Every model_type we can build, in registry order. */
export const SUPPORTED_MODEL_TYPES: readonly string[] = ARCHITECTURES.map((a) => a.modelType);

/** The architecture of a model_type, or undefined when we have none. */
export function findArchitecture(modelType: unknown): Architecture<DecoderConfig> | undefined {
  return ARCHITECTURES.find((a) => a.modelType === modelType);
}

/** The architecture for a config.json; a UserError names an unsupported model_type. */
export function architectureFor(config: Record<string, unknown>): Architecture<DecoderConfig> {
  const type = config.model_type;
  if (typeof type !== 'string' || type === '') {
    throw new UserError(`config.json has no "model_type"; expected one of ${SUPPORTED_MODEL_TYPES.join(', ')}`);
  }
  const arch = findArchitecture(type);
  if (!arch) {
    throw new UserError(`model_type "${type}" is not supported; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`);
  }
  return arch;
}

/** The architecture and its normalised config, in one call. */
export function resolveArchitecture(config: Record<string, unknown>): { arch: Architecture<DecoderConfig>; cfg: DecoderConfig } {
  const arch = architectureFor(config);
  return { arch, cfg: arch.normalizeConfig(config) };
}
