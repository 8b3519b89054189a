/**
 * Mistral (model_type "mistral"): the LLaMA architecture with other config defaults.
 * Its sliding-window attention (sliding_window, 4096 in v0.1) only differs from full causal
 * attention past that many tokens; we attend to the whole context, which matches for
 * sequences up to the window.
 */
import { llamaFamily } from './llama.js';

export const mistral = llamaFamily({
  modelType: 'mistral',
  hfClass: 'MistralForCausalLM',
  gguf: { arch: 'llama', permuteQK: true },
  vocabSize: 32000,
  maxPositions: 4096 * 32,
  rmsNormEps: 1e-6,
  ropeTheta: 10000,
  tieWordEmbeddings: false,
});
