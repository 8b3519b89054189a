import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { UserError } from '../../src/core/tool.js';
import { normalizeOptConfig, opt } from '../../src/models/opt.js';

const base = { model_type: 'opt', hidden_size: 32, num_attention_heads: 4, num_hidden_layers: 1, ffn_dim: 40, vocab_size: 20, max_position_embeddings: 16 };

describe('opt config and parameters', () => {
  it('takes OPTConfig defaults: ReLU, pre-LN, biases, pad 1, bos/eos 2, init_std', () => {
    const cfg = normalizeOptConfig({ ...base, init_std: 0.05 });
    expect(cfg).toMatchObject({ activation: 'relu', layerNormBefore: true, finalLayerNorm: true, bias: true, padTokenId: 1, bosTokenId: 2, eosTokenId: 2, initializerRange: 0.05, wordEmbedDim: 32 });
  });

  it('has position rows for the offset of 2, projections only where word_embed_proj_dim differs, no final norm after post-LN', () => {
    const names = (over: Record<string, unknown>) => new Map(opt.parameters(normalizeOptConfig({ ...base, ...over })).map((p) => [p.name, p.shape]));
    const pre = names({ word_embed_proj_dim: 8 });
    expect(pre.get('model.decoder.embed_positions.weight')).toEqual([18, 32]);
    expect(pre.get('model.decoder.embed_tokens.weight')).toEqual([20, 8]);
    expect(pre.get('model.decoder.project_in.weight')).toEqual([32, 8]);
    expect(pre.get('model.decoder.project_out.weight')).toEqual([8, 32]);
    expect(pre.has('model.decoder.final_layer_norm.weight')).toBe(true);
    const post = names({ do_layer_norm_before: false, enable_bias: false });
    expect([...post.keys()].some((n) => n.includes('project_') || n.endsWith('.bias') && !n.includes('layer_norm'))).toBe(false);
    expect(post.has('model.decoder.final_layer_norm.weight')).toBe(false);
    expect(names({ _remove_final_layer_norm: true }).has('model.decoder.final_layer_norm.weight')).toBe(false);
  });

  it('zeroes the padding row at init', () => {
    const cfg = normalizeOptConfig(base);
    const e = opt.init(cfg, new Random(1)).get('model.decoder.embed_tokens.weight')!.data;
    expect(e.subarray(32, 64).every((x) => x === 0)).toBe(true);
    expect(e.subarray(0, 32).some((x) => x !== 0)).toBe(true);
  });

  it.each([
    [{ layer_norm_elementwise_affine: false }, /layer_norm_elementwise_affine false .* is not supported/],
    [{ activation_function: 'silu' }, /activation_function "silu" is not supported/],
    [{ hidden_size: 30 }, /hidden_size \(30\) is not divisible by num_attention_heads \(4\)/],
  ])('rejects %j with a one-line UserError', (over, message) => {
    const fn = () => normalizeOptConfig({ ...base, ...over });
    expect(fn).toThrow(UserError);
    expect(fn).toThrow(message);
  });
});

describe('opt as a reinitializer target', () => {
  it('carries the std over as init_std', async () => {
    const { reshapeConfig } = await import('../../src/models/config-edit.js');
    const out = reshapeConfig({ model_type: 'gpt2', n_embd: 32, n_head: 4, n_layer: 1, initializer_range: 0.05 }, { modelType: 'opt' });
    expect(normalizeOptConfig(out)).toMatchObject({ initializerRange: 0.05, hiddenSize: 32, ffnDim: 128, wordEmbedDim: 32 });
  });
});

describe('opt sanitize', () => {
  it('adds the model. prefix to a bare OPTModel checkpoint', () => {
    const t = { shape: [1], data: new Float32Array(1) };
    const out = opt.sanitize!(new Map([['decoder.layers.0.fc1.weight', t], ['model.decoder.embed_tokens.weight', t], ['lm_head.weight', t]]));
    expect([...out.keys()]).toEqual(['model.decoder.layers.0.fc1.weight', 'model.decoder.embed_tokens.weight', 'lm_head.weight']);
  });
});
