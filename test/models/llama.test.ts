import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { UserError } from '../../src/core/tool.js';
import { architectureFor, resolveArchitecture, SUPPORTED_MODEL_TYPES } from '../../src/models/index.js';
import { llama, normalizeLlamaConfig, ropeInverseFrequencies, type LlamaConfig } from '../../src/models/llama.js';

const BASE = {
  model_type: 'llama', vocab_size: 100, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2,
  num_attention_heads: 8, num_key_value_heads: 2,
};

describe('llama-family config', () => {
  it('reads Hugging Face keys, defaults num_key_value_heads and head_dim, ignores unknown keys', () => {
    const cfg = normalizeLlamaConfig({ ...BASE, num_key_value_heads: undefined, torch_dtype: 'bfloat16', rope_scaling: null });
    expect(cfg).toMatchObject({
      modelType: 'llama', numHeads: 8, numKvHeads: 8, headDim: 8, maxPositions: 2048, rmsNormEps: 1e-6,
      ropeTheta: 10000, ropeScaling: { type: 'none' }, qkvBias: false, oBias: false, mlpBias: false,
      tieWordEmbeddings: false,
    });
  });

  it('qwen2 always has q/k/v biases and no o_proj bias; mistral and smollm-style configs load', () => {
    const qwen = resolveArchitecture({ ...BASE, model_type: 'qwen2' });
    const names = qwen.arch.parameters(qwen.cfg).map((p) => p.name);
    expect(names).toContain('model.layers.0.self_attn.q_proj.bias');
    expect(names).toContain('model.layers.1.self_attn.v_proj.bias');
    expect(names).not.toContain('model.layers.0.self_attn.o_proj.bias');
    expect(resolveArchitecture({ ...BASE, model_type: 'mistral' }).cfg.maxPositions).toBe(131072);
    // SmolLM / TinyLlama ship model_type "llama" with tied or untied heads.
    const smol = resolveArchitecture({ ...BASE, tie_word_embeddings: true });
    expect(smol.arch.parameters(smol.cfg).map((p) => p.name)).not.toContain('lm_head.weight');
  });

  it('attention_bias and mlp_bias add the biases to every projection', () => {
    const cfg = normalizeLlamaConfig({ ...BASE, attention_bias: true, mlp_bias: true });
    const names = llama.parameters(cfg).map((p) => p.name);
    for (const n of ['self_attn.q_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.down_proj']) {
      expect(names).toContain(`model.layers.0.${n}.bias`);
    }
  });

  it('uses head_dim when given (heads·head_dim ≠ hidden_size)', () => {
    const cfg = normalizeLlamaConfig({ ...BASE, head_dim: 16 });
    const shapes = new Map(llama.parameters(cfg).map((p) => [p.name, p.shape]));
    expect(shapes.get('model.layers.0.self_attn.q_proj.weight')).toEqual([128, 64]);
    expect(shapes.get('model.layers.0.self_attn.k_proj.weight')).toEqual([32, 64]);
    expect(shapes.get('model.layers.0.self_attn.o_proj.weight')).toEqual([64, 128]);
  });

  it.each([
    [{ num_key_value_heads: 3 }, /num_attention_heads \(8\) is not divisible by num_key_value_heads \(3\)/],
    [{ hidden_size: 60 }, /hidden_size \(60\) is not divisible by num_attention_heads \(8\)/],
    [{ hidden_act: 'gelu' }, /hidden_act "gelu" is not supported; use silu/],
    [{ rope_scaling: { rope_type: 'yarn', factor: 4 } }, /rope_scaling: rope type "yarn" is not supported; use default, linear or llama3/],
    [{ rope_parameters: { rope_type: 'dynamic', rope_theta: 1e4, factor: 2 } }, /llama config\.json rope_parameters: rope type "dynamic" is not supported/],
    [{ rope_scaling: { rope_type: 'llama3', factor: 8 } }, /llama config\.json rope_scaling lacks "low_freq_factor"/],
    [{ rms_norm_eps: 0 }, /"rms_norm_eps" must be a positive number, got 0/],
    [{ tie_word_embeddings: 'yes' }, /"tie_word_embeddings" must be true or false/],
  ])('rejects %j with a one-line UserError', (over, message) => {
    const fn = () => normalizeLlamaConfig({ ...BASE, ...over });
    expect(fn).toThrow(UserError);
    expect(fn).toThrow(message);
  });
});

/** Relative error: the frequencies are float32. */
const relErr = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('RoPE inverse frequencies', () => {
  const cfg = (over: Record<string, unknown>) => normalizeLlamaConfig({ ...BASE, hidden_size: 256, num_attention_heads: 2, num_key_value_heads: 2, ...over });

  it('are theta^(−2i/D), divided by the factor under linear scaling', () => {
    const f = ropeInverseFrequencies(cfg({ rope_theta: 10000 }));
    expect(f.length).toBe(64);
    expect(f[0]).toBe(1);
    expect(f[32]).toBeCloseTo(10000 ** (-64 / 128), 7);
    const lin = ropeInverseFrequencies(cfg({ rope_scaling: { type: 'linear', factor: 4 } }));
    expect(lin[10]).toBeCloseTo(f[10] / 4, 9);
  });

  it('llama3 keeps short wavelengths, slows long ones by the factor, interpolates between', () => {
    const c: LlamaConfig = cfg({
      rope_theta: 500000,
      rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
    });
    const plain = ropeInverseFrequencies({ ...c, ropeScaling: { type: 'none' } });
    const scaled = ropeInverseFrequencies(c);
    let kept = 0, slowed = 0, between = 0;
    for (let i = 0; i < plain.length; i++) {
      const wavelen = (2 * Math.PI) / plain[i];
      if (wavelen < 8192 / 4) { expect(scaled[i]).toBe(plain[i]); kept++; }
      else if (wavelen > 8192) { expect(relErr(scaled[i], plain[i] / 8)).toBeLessThan(1e-6); slowed++; }
      else {
        const smooth = (8192 / wavelen - 1) / (4 - 1);
        expect(relErr(scaled[i], (1 - smooth) * (plain[i] / 8) + smooth * plain[i])).toBeLessThan(1e-6);
        between++;
      }
    }
    expect(kept).toBeGreaterThan(0);
    expect(slowed).toBeGreaterThan(0);
    expect(between).toBeGreaterThan(0);
  });
});

describe('llama init', () => {
  it('normal(0, initializer_range) weights, RMSNorm γ = 1, zero biases, zero padding row', () => {
    const cfg = normalizeLlamaConfig({ ...BASE, initializer_range: 0.05, attention_bias: true, pad_token_id: 3 });
    const w = llama.init(cfg, new Random(1));
    const q = w.get('model.layers.0.self_attn.q_proj.weight')!.data;
    const sd = Math.sqrt(q.reduce((s, v) => s + v * v, 0) / q.length);
    expect(sd).toBeCloseTo(0.05, 2);
    expect(w.get('model.norm.weight')!.data.every((v) => v === 1)).toBe(true);
    expect(w.get('model.layers.1.post_attention_layernorm.weight')!.data.every((v) => v === 1)).toBe(true);
    expect(w.get('model.layers.0.self_attn.k_proj.bias')!.data.every((v) => v === 0)).toBe(true);
    const embed = w.get('model.embed_tokens.weight')!.data;
    expect(embed.subarray(3 * 64, 4 * 64).every((v) => v === 0)).toBe(true);
    expect(embed.subarray(2 * 64, 3 * 64).some((v) => v !== 0)).toBe(true);
  });
});

describe('architecture registry', () => {
  it('dispatches on model_type', () => {
    // The first four in registry order; the families added after them follow.
    expect(SUPPORTED_MODEL_TYPES.slice(0, 4)).toEqual(['gpt2', 'llama', 'mistral', 'qwen2']);
    expect(architectureFor({ model_type: 'qwen2' }).modelType).toBe('qwen2');
  });
  it('names an unsupported or missing model_type and lists the supported ones', () => {
    expect(() => architectureFor({ model_type: 'bert' })).toThrow(UserError);
    expect(() => architectureFor({ model_type: 'bert' })).toThrow(`model_type "bert" is not supported; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`);
    expect(() => architectureFor({})).toThrow(/config\.json has no "model_type"; expected one of gpt2, llama/);
  });
});
