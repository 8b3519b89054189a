import { describe, expect, it } from 'vitest';
import { matmulParameters, modelFlopsPerToken, productShapes } from '../../bench/model-flops.js';
import { TRAIN_SHAPES } from '../../bench/train-shapes.js';
import { resolveArchitecture } from '../../src/models/index.js';

const shape = (name: string) => resolveArchitecture(TRAIN_SHAPES.find((s) => s.name === name)!.config);

describe('bench model FLOPs', () => {
  it('reduces to nanoGPT\'s GPT-2 count: 6·(params − wpe) + 12·L·T·C', () => {
    const { arch, cfg } = shape('gpt2-4l');
    // 4 blocks of 12·768² + 13·768 parameters, the tied 50257 × 768 embedding, the final LayerNorm.
    const n = 4 * (12 * 768 * 768 + 13 * 768) + 50257 * 768 + 2 * 768;
    expect(matmulParameters(arch, cfg)).toBe(n);
    expect(modelFlopsPerToken(arch, cfg, 128)).toBe(6 * n + 12 * 4 * 128 * 768);
  });

  it('counts a tied LLaMA embedding once, as the head, and attention over the query heads (GQA)', () => {
    const { arch, cfg } = shape('smollm2-135m');
    // transformers' LlamaForCausalLM from this config has 134,515,008 parameters, all of them multiplied by.
    expect(matmulParameters(arch, cfg)).toBe(134_515_008);
    expect(modelFlopsPerToken(arch, cfg, 128)).toBe(6 * 134_515_008 + 12 * 30 * 128 * 9 * 64);
  });

  it('leaves an untied embedding out and counts the head instead', () => {
    const { arch, cfg } = resolveArchitecture({ ...TRAIN_SHAPES.find((s) => s.name === 'qwen2.5-0.5b')!.config, tie_word_embeddings: false });
    const tied = shape('qwen2.5-0.5b');
    expect(matmulParameters(arch, cfg)).toBe(matmulParameters(tied.arch, tied.cfg));
    expect(arch.parameters(cfg).some((p) => p.role === 'head')).toBe(true);
  });

  it('lists each distinct weight product once, head included, K ≤ N', () => {
    const { arch, cfg } = shape('qwen2.5-0.5b');
    expect(productShapes(arch, cfg, 512)).toEqual([[512, 896, 151936], [512, 896, 896], [512, 128, 896], [512, 896, 4864]]);
    const gpt2 = shape('gpt2-12l');
    expect(productShapes(gpt2.arch, gpt2.cfg, 1024)).toEqual([[1024, 768, 50257], [1024, 768, 2304], [1024, 768, 768], [1024, 768, 3072]]);
  });
});
