import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { UserError } from '../../src/core/tool.js';
import { reshapeConfig } from '../../src/models/config-edit.js';
import { gemma, gemmaEmbedScale, normalizeGemmaConfig } from '../../src/models/gemma.js';
import { normalizeGemma2Config } from '../../src/models/gemma2.js';
import { normalizeGemma3TextConfig } from '../../src/models/gemma3_text.js';
import { resolveArchitecture } from '../../src/models/index.js';
import { TINY_CONFIGS } from './tiny.js';

const BASE = { vocab_size: 50, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2 };
const SLIDE = 'sliding_attention';
const FULL = 'full_attention';

describe('gemma-family configs', () => {
  it('√hidden is rounded to the checkpoint dtype, as embed_scale.to(weight.dtype) does (55.5 for 3072 in bf16)', () => {
    expect(gemmaEmbedScale(3072, 'bfloat16')).toBe(55.5);
    expect(gemmaEmbedScale(3072, 'float32')).toBe(Math.fround(Math.sqrt(3072)));
    expect(gemmaEmbedScale(3072, 'float16')).toBe(55.4375);
    expect(normalizeGemmaConfig({ ...BASE, hidden_size: 3072, num_attention_heads: 16, dtype: 'bfloat16' }).embedScale).toBe(55.5);
  });

  it('takes transformers\' defaults: head_dim 256, pad 0 / eos 1 / bos 2, tied head, legacy "gelu" as tanh GELU', () => {
    const cfg = normalizeGemmaConfig({ ...BASE, hidden_act: 'gelu', pad_token_id: null });
    expect(cfg).toMatchObject({
      headDim: 256, queryPreAttnScalar: 256, padTokenId: null, eosTokenId: 1, bosTokenId: 2, tieWordEmbeddings: true,
      geluApproximate: 'tanh', sandwichNorms: false, qkNorm: false, finalSoftcap: null,
    });
    expect(normalizeGemmaConfig(BASE).padTokenId).toBe(0);
  });

  it('gemma2 without layer_types slides every even layer; default soft-caps 50 / 30, null turns one off', () => {
    const cfg = normalizeGemma2Config({ ...BASE, model_type: 'gemma2', final_logit_softcapping: null });
    expect(cfg.slidingWindows).toEqual([4096, null, 4096, null]);
    expect([cfg.attnSoftcap, cfg.finalSoftcap, cfg.queryPreAttnScalar]).toEqual([50, null, 256]);
    expect(normalizeGemma2Config({ ...BASE, model_type: 'gemma2', hidden_activation: 'gelu' }).geluApproximate).toBe('none');
  });

  it('gemma3_text legacy keys: rope_theta and rope_scaling for global layers, rope_local_base_freq for sliding ones, pattern 6', () => {
    const cfg = normalizeGemma3TextConfig({
      ...BASE, model_type: 'gemma3_text', num_hidden_layers: 7, sliding_window: 8, rope_theta: 5e5, rope_local_base_freq: 2e4,
      rope_scaling: { rope_type: 'linear', factor: 8 },
    });
    expect(cfg.slidingWindows).toEqual([8, 8, 8, 8, 8, null, 8]);
    expect(cfg.ropeFull).toEqual({ ropeTheta: 5e5, ropeScaling: { type: 'linear', factor: 8 } });
    expect(cfg.ropeSliding).toEqual({ ropeTheta: 2e4, ropeScaling: { type: 'none' } });
    expect([cfg.attnSoftcap, cfg.finalSoftcap]).toEqual([null, null]);
  });

  it('gemma3_text rope_parameters keyed by layer type, as transformers 5 writes them', () => {
    const cfg = normalizeGemma3TextConfig({
      ...BASE, model_type: 'gemma3_text', sliding_window: 8, layer_types: [SLIDE, FULL, SLIDE, FULL],
      rope_parameters: { [FULL]: { rope_type: 'default', rope_theta: 1e6 }, [SLIDE]: { rope_type: 'default', rope_theta: 1e4 } },
    });
    expect(cfg.slidingWindows).toEqual([8, null, 8, null]);
    expect([cfg.ropeFull.ropeTheta, cfg.ropeSliding.ropeTheta]).toEqual([1e6, 1e4]);
  });

  it.each([
    ['gemma', { hidden_act: 'silu' }, /gemma config\.json: hidden_act "silu" is not supported; use one of gelu_pytorch_tanh, gelu/],
    ['gemma2', { use_bidirectional_attention: true }, /gemma2 config\.json: use_bidirectional_attention .* is not supported/],
    ['gemma2', { layer_types: [SLIDE, FULL] }, /"layer_types" has 2 entries for 4 layers/],
    ['gemma2', { sliding_window: null }, /sliding attention needs "sliding_window"/],
    ['gemma3_text', { rope_parameters: { [FULL]: { rope_type: 'yarn', factor: 2 } } }, /rope_parameters\.full_attention: rope type "yarn" is not supported/],
    ['gemma3_text', { final_logit_softcapping: -1 }, /"final_logit_softcapping" must be a positive number/],
  ])('%s rejects %j with a one-line UserError', (type, over, message) => {
    const raw = { ...BASE, model_type: type, ...over };
    expect(() => resolveArchitecture(raw)).toThrow(UserError);
    expect(() => resolveArchitecture(raw)).toThrow(message);
  });

  it('init: Linear and Embedding N(0, 0.02), every (1 + γ) norm γ = 0, the padding row 0', () => {
    const cfg = normalizeGemmaConfig({ ...BASE, head_dim: 8, vocab_size: 400 });
    const w = gemma.init(cfg, new Random(3));
    const embed = w.get('model.embed_tokens.weight')!.data;
    expect(embed.subarray(0, 32).every((v) => v === 0)).toBe(true);
    const rest = embed.subarray(32);
    const std = Math.sqrt(rest.reduce((a, v) => a + v * v, 0) / rest.length);
    expect(std).toBeGreaterThan(0.019);
    expect(std).toBeLessThan(0.021);
    expect(w.get('model.layers.0.input_layernorm.weight')!.data.every((v) => v === 0)).toBe(true);
  });

  it('the reinitializer turns a llama model into gemma with head_dim following hidden/heads, and changes a gemma2 model\'s depth', () => {
    const fromLlama = reshapeConfig(TINY_CONFIGS['llama (GQA, untied)'], { modelType: 'gemma', hiddenSize: 128 });
    expect(resolveArchitecture(fromLlama).cfg).toMatchObject({ modelType: 'gemma', hiddenSize: 128, headDim: 32, numKvHeads: 2 });
    const deeper = reshapeConfig({ ...BASE, model_type: 'gemma2', layer_types: [SLIDE, FULL, SLIDE, FULL] }, { numLayers: 3 });
    expect((resolveArchitecture(deeper).cfg as ReturnType<typeof normalizeGemma2Config>).slidingWindows).toEqual([4096, null, 4096]);
  });
});
