import { describe, expect, it } from 'vitest';
import { DecoderSession } from '../../src/runtime/session.js';
import { TINY_CONFIGS, maxAbsDiff, tinyModel } from './tiny.js';

function reference(m: ReturnType<typeof tinyModel>, ids: number[]): Float32Array {
  return m.arch.reference(m.cfg, m.weights, ids);
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
