import { describe, expect, it } from 'vitest';
import type { Gpt2Config } from '../../src/models/gpt2.js';
import { ropeInverseFrequencies, type LlamaConfig } from '../../src/models/llama.js';
import { gpt2Reference, llamaReference } from '../../src/models/reference.js';
import { DecoderSession } from '../../src/runtime/session.js';
import { TINY_CONFIGS, maxAbsDiff, tinyModel } from './tiny.js';

function reference(m: ReturnType<typeof tinyModel>, ids: number[]): Float32Array {
  if (m.cfg.modelType === 'gpt2') return gpt2Reference(m.cfg as Gpt2Config, m.weights, ids);
  const cfg = m.cfg as LlamaConfig;
  return llamaReference(cfg, m.weights, ids, ropeInverseFrequencies(cfg));
}

describe('ONNX graphs against the plain-TypeScript reference', () => {
  for (const [label, raw] of Object.entries(TINY_CONFIGS)) {
    it(`${label}: full-sequence logits within 1e-4`, async () => {
      const m = tinyModel(raw);
      const ids = [3, 17, 1, 42, 9, 0, 25, 11, 30, 7, 2, 19];
      const session = await DecoderSession.create(m.arch, m.cfg, m.weights, { logits: 'all', threads: 1 });
      const got = await session.prefill(ids);
      const want = reference(m, ids);
      expect(got.length).toBe(ids.length * m.cfg.vocabSize);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
      // The logits must not be trivially small, or the tolerance would prove nothing.
      expect(Math.max(...want.map(Math.abs))).toBeGreaterThan(0.5);
      await session.release();
    });
  }
});
