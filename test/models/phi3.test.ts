import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/tool.js';
import { normalizeLlamaConfig } from '../../src/models/llama.js';
import { normalizePhi3Config, phi3 } from '../../src/models/phi3.js';
import { rotaryOptions } from '../../src/models/rope.js';
import { Random } from '../../src/core/random.js';
import { argmax } from '../../src/runtime/sampling.js';
import { DecoderSession } from '../../src/runtime/session.js';
import { maxAbsDiff } from './tiny.js';

const base = { model_type: 'phi3', hidden_size: 32, num_attention_heads: 4, num_hidden_layers: 1, intermediate_size: 48, vocab_size: 50 };
const longrope = { type: 'longrope', short_factor: [1, 2, 3, 4], long_factor: [5, 6, 7, 8] };

describe('phi3 config', () => {
  it('reads longrope as transformers does: top-level original context, factor max/original, attention factor √(1 + ln f / ln orig)', () => {
    const cfg = normalizePhi3Config({ ...base, max_position_embeddings: 1024, original_max_position_embeddings: 64, rope_scaling: longrope });
    expect(cfg.ropeScaling).toEqual({ type: 'longrope', shortFactor: [1, 2, 3, 4], longFactor: [5, 6, 7, 8], originalMaxPositions: 64, attentionFactor: Math.sqrt(1 + Math.log(16) / Math.log(64)) });
    const o = rotaryOptions(cfg.ropeTheta, cfg.ropeScaling, cfg.rotaryDim);
    expect(o.long!.from).toBe(64);
    // θ_i = 1 / (long_i · 10000^(2i/8)).
    expect(o.long!.invFreq[1]).toBeCloseTo(1 / (6 * 10000 ** 0.25), 7);
  });

  it('takes Phi3Config defaults (4096 context, pad 32000) and its old rope names su and yarn', () => {
    expect(normalizePhi3Config(base)).toMatchObject({ maxPositions: 4096, originalMaxPositions: 4096, padTokenId: 32000, rotaryDim: 8, slidingWindow: null });
    for (const type of ['su', 'yarn']) {
      expect(normalizePhi3Config({ ...base, rope_scaling: { ...longrope, type } }).ropeScaling.type).toBe('longrope');
    }
    expect(normalizePhi3Config({ ...base, rope_parameters: { rope_type: 'default', rope_theta: 1e4, partial_rotary_factor: 0.5 } }).rotaryDim).toBe(4);
  });

  it.each([
    [{ rope_scaling: { ...longrope, short_factor: [1, 2] } }, /rope "short_factor" has 2 entries; the 8 rotary features need 4/],
    [{ rope_scaling: { ...longrope, long_factor: 'x' } }, /"long_factor" must be a list of positive numbers/],
    [{ rope_scaling: { type: 'dynamic', factor: 2 } }, /rope type "dynamic" is not supported; use default, linear, llama3 or longrope/],
    [{ partial_rotary_factor: 0.375 }, /= 3 rotary features; it must be even/],
    [{ partial_rotary_factor: 0.1 }, /must be even and at least 2/],
    [{ hidden_act: 'gelu' }, /hidden_act "gelu" is not supported/],
    [{ sliding_window: 0 }, /"sliding_window" must be a positive integer or null/],
  ])('rejects %j with a one-line UserError', (over, message) => {
    const fn = () => normalizePhi3Config({ ...base, ...over });
    expect(fn).toThrow(UserError);
    expect(fn).toThrow(message);
  });

  it('leaves longrope an error for families that do not wire it (no silently different llama)', () => {
    expect(() => normalizeLlamaConfig({ model_type: 'llama', hidden_size: 32, num_attention_heads: 4, rope_scaling: longrope })).toThrow(/rope type "longrope" is not supported; use default, linear or llama3/);
  });

  it('declares the fused projections\' parts', () => {
    const cfg = normalizePhi3Config({ ...base, num_key_value_heads: 2 });
    const p = new Map(phi3.parameters(cfg).map((x) => [x.name, x]));
    expect(p.get('model.layers.0.self_attn.qkv_proj.weight')!.parts).toEqual([{ name: 'q', size: 32 }, { name: 'k', size: 16 }, { name: 'v', size: 16 }]);
    expect(p.get('model.layers.0.mlp.gate_up_proj.weight')!.parts).toEqual([{ name: 'gate', size: 48 }, { name: 'up', size: 48 }]);
  });
});

describe('phi3 decoding across the original context', () => {
  it('recomputes the sequence when it crosses (long factors for every key), so each step equals a fresh pass', async () => {
    const cfg = normalizePhi3Config({ ...base, num_hidden_layers: 2, original_max_position_embeddings: 8, max_position_embeddings: 64, rope_scaling: longrope });
    expect(cfg.recomputeCacheAt).toBe(8);
    const weights = phi3.init(cfg, new Random(3));
    const cached = await DecoderSession.create(phi3, cfg, weights, { threads: 1 });
    const fresh = await DecoderSession.create(phi3, cfg, weights, { threads: 1 });
    const ids = [3, 14, 15, 9, 2, 6];
    let logits = await cached.prefill(ids);
    for (let t = 0; t < 6; t++) {
      // Lengths 7 and 8 use the short factors; at 9 the cache crosses.
      expect(maxAbsDiff(logits, await fresh.prefill(ids)), `at length ${ids.length}`).toBeLessThan(1e-5);
      ids.push(argmax(logits));
      logits = await cached.step(ids.at(-1)!);
    }
    expect(cached.pastLength).toBe(ids.length);
    await cached.release();
    await fresh.release();
  });

  it('has no recompute point without longrope', () => {
    expect(normalizePhi3Config(base).recomputeCacheAt).toBeUndefined();
  });
});
