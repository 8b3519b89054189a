/**
 * Mistral (model_type "mistral"): the LLaMA architecture with other config defaults and
 * sliding-window attention on every layer when sliding_window is set (4096 in v0.1, null in
 * later versions).
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
  legacySliding: () => true,
  // transformers loads a mistral config.json with layer_types as Ministral, which slides the layers it lists.
  readsLayerTypes: true,
});
