/**
 * Qwen2 (model_type "qwen2"): the LLaMA architecture whose q/k/v projections always carry
 * biases (o_proj never does), with Qwen2Config's defaults.
 */
import { llamaFamily } from './llama.js';

export const qwen2 = llamaFamily({
  modelType: 'qwen2',
  hfClass: 'Qwen2ForCausalLM',
  gguf: { arch: 'qwen2', permuteQK: false },
  vocabSize: 151936,
  maxPositions: 32768,
  rmsNormEps: 1e-6,
  ropeTheta: 10000,
  tieWordEmbeddings: false,
  qkvBiasAlways: true,
  // Qwen2Config: use_sliding_window (default false) slides layers from max_window_layers (28) on.
  legacySliding: (raw, layer) => raw.use_sliding_window === true && layer >= (typeof raw.max_window_layers === 'number' ? raw.max_window_layers : 28),
  readsLayerTypes: true,
  slidingSwitch: 'use_sliding_window',
});
