import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/tool.js';
import { argmax } from '../../src/runtime/sampling.js';
import { DecoderSession, decoderSessionOptions, ortError } from '../../src/runtime/session.js';
import { TINY_CONFIGS, maxAbsDiff, tinyModel } from '../models/tiny.js';

const PROMPT = [5, 12, 0, 33, 8];
const STEPS = 10;

function referenceLogits(m: ReturnType<typeof tinyModel>, ids: number[]): Float32Array {
  return m.arch.reference(m.cfg, m.weights, ids);
}

describe('DecoderSession KV-cache decoding', () => {
  for (const [label, raw] of Object.entries(TINY_CONFIGS)) {
    it(`${label}: prefill + token-by-token equals full recomputation, greedy matches the reference`, async () => {
      const m = tinyModel(raw, 7);
      const V = m.cfg.vocabSize;
      const cached = await DecoderSession.create(m.arch, m.cfg, m.weights, { threads: 1 });
      const full = await DecoderSession.create(m.arch, m.cfg, m.weights, { logits: 'all', threads: 1 });

      const ids = [...PROMPT];
      let logits = await cached.prefill(ids);
      expect(logits.length).toBe(V);
      for (let s = 0; s < STEPS; s++) {
        // Full recomputation without a cache: the last row of all-position logits.
        const all = await full.prefill(ids);
        expect(maxAbsDiff(logits, all.subarray((ids.length - 1) * V))).toBeLessThan(1e-4);
        const ref = referenceLogits(m, ids).subarray((ids.length - 1) * V);
        expect(argmax(logits)).toBe(argmax(ref));
        ids.push(argmax(logits));
        logits = await cached.step(ids[ids.length - 1]);
        expect(cached.pastLength).toBe(ids.length);
      }
      await cached.release();
      await full.release();
    });
  }

  it('every family that can slide has a tiny config whose window is shorter than the tokens decoded above', () => {
    // A family slides if a config asking every way a family can (layer_types, use_sliding_window, window_size) gives it a window.
    const windowsOf = (c: unknown) => {
      const { slidingWindows, slidingWindow } = c as { slidingWindows?: (number | null)[]; slidingWindow?: number | null };
      return (slidingWindows ?? [slidingWindow ?? null]).filter((w): w is number => w !== null);
    };
    const configs = Object.values(TINY_CONFIGS).map((raw) => tinyModel(raw).cfg);
    const sliding = Object.values(TINY_CONFIGS).filter((raw) => {
      const n = tinyModel(raw).cfg.numLayers;
      const ask = { sliding_window: 2, use_sliding_window: true, max_window_layers: 0, window_size: 2, layer_types: Array(n).fill('sliding_attention') };
      return windowsOf(tinyModel({ ...raw, ...ask }).cfg).length > 0;
    }).map((raw) => raw.model_type as string);
    expect(sliding.length).toBeGreaterThan(5);
    for (const type of new Set(sliding)) {
      const shortest = Math.min(...configs.filter((c) => c.modelType === type).flatMap(windowsOf));
      expect(shortest, `${type}: no tiny config slides within ${PROMPT.length + STEPS} tokens`).toBeLessThan(PROMPT.length + STEPS);
    }
  });

  it('prefill in chunks equals one prefill (a multi-token step with a past)', async () => {
    const m = tinyModel(TINY_CONFIGS['llama (GQA, untied)'], 3);
    const s = await DecoderSession.create(m.arch, m.cfg, m.weights, { logits: 'all', threads: 1 });
    const ids = [1, 2, 3, 4, 5, 6, 7, 8];
    const whole = await s.prefill(ids);
    const first = await s.prefill(ids.slice(0, 3));
    const rest = await s.step(ids.slice(3));
    const V = m.cfg.vocabSize;
    expect(maxAbsDiff(first, whole.subarray(0, 3 * V))).toBeLessThan(1e-5);
    expect(maxAbsDiff(rest, whole.subarray(3 * V))).toBeLessThan(1e-5);
    await s.release();
  });

  it('resume runs only what follows the cached prefix, cutting the cache back where the ids part, with a fresh prefill’s logits', async () => {
    const m = tinyModel(TINY_CONFIGS['llama (GQA, untied)'], 3);
    const s = await DecoderSession.create(m.arch, m.cfg, m.weights, { threads: 1 });
    const fresh = await DecoderSession.create(m.arch, m.cfg, m.weights, { threads: 1 });
    await s.prefill([1, 2, 3, 4, 5, 6]);
    // Extends the cache: the six cached ids are kept, two run.
    const longer = [1, 2, 3, 4, 5, 6, 7, 8];
    let r = await s.resume(longer);
    expect(r.reused).toBe(6);
    expect(s.cachedIds).toEqual(longer);
    expect(maxAbsDiff(r.logits, await fresh.prefill(longer))).toBeLessThan(1e-5);
    // Parts after four ids: the cache is cut to four (GQA heads sliced apart), three run.
    const parted = [1, 2, 3, 4, 9, 10, 11];
    r = await s.resume(parted);
    expect(r.reused).toBe(4);
    expect(s.pastLength).toBe(parted.length);
    expect(maxAbsDiff(r.logits, await fresh.prefill(parted))).toBeLessThan(1e-5);
    // The same ids again: the last one still runs, for the logits after it.
    r = await s.resume(parted);
    expect(r.reused).toBe(parted.length - 1);
    expect(maxAbsDiff(r.logits, await fresh.prefill(parted))).toBeLessThan(1e-5);
    // Nothing shared: a fresh prefill.
    r = await s.resume([20, 21]);
    expect(r.reused).toBe(0);
    expect(s.cachedIds).toEqual([20, 21]);
    await s.release();
    await fresh.release();
  });

  it('rejects bad input with one-line UserErrors before ORT sees it', async () => {
    const m = tinyModel(TINY_CONFIGS['gpt2 (tied)']);
    const s = await DecoderSession.create(m.arch, m.cfg, m.weights, { threads: 1 });
    await expect(s.prefill([])).rejects.toThrow(/non-empty prompt/);
    await expect(s.prefill([1, 61])).rejects.toThrow(/token id 61 is outside the model's vocabulary \(0\.\.60\)/);
    await expect(s.prefill(new Array(65).fill(1))).rejects.toThrow(/past the model's 64 positions/);
    await s.release();
  });

  it('refuses weights that disagree with the config, naming the tensor', async () => {
    const m = tinyModel(TINY_CONFIGS['gpt2 (tied)']);
    m.weights.set('transformer.h.1.mlp.c_fc.weight', { shape: [32, 64], data: new Float32Array(32 * 64) });
    await expect(DecoderSession.create(m.arch, m.cfg, m.weights)).rejects.toThrow(
      /transformer\.h\.1\.mlp\.c_fc\.weight has shape \[32,64\] but config\.json implies \[32,128\]/,
    );
    const fresh = tinyModel(TINY_CONFIGS['gpt2 (tied)']);
    fresh.weights.delete('transformer.ln_f.bias');
    await expect(DecoderSession.create(fresh.arch, fresh.cfg, fresh.weights)).rejects.toThrow(/lack transformer\.ln_f\.bias/);
  });

  it('wraps ORT messages without leaking node names', () => {
    const e = ortError(
      new Error("Non-zero status code returned while running Gather node. Name:'/transformer/wte/Gather' Status Message: indices element out of data bounds"),
      'running the model',
    );
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).not.toMatch(/transformer|Gather/);
    expect(e.message).toMatch(/out of range/);
    expect(e.message.split('\n')).toHaveLength(1);
  });
});

describe('attention_mask with padding (batch 2, raw graph)', () => {
  it('left-padded rows give the same logits as the unpadded sequence', async () => {
    const ort = await import('onnxruntime-node');
    const { writeOnnx } = await import('../../src/graph/onnx-writer.js');
    const { buildDecoderGraph } = await import('../../src/models/architecture.js');
    const m = tinyModel(TINY_CONFIGS['llama (GQA, untied)'], 11);
    const { numLayers, numKvHeads, headDim, vocabSize: V } = m.cfg;
    const bytes = writeOnnx(buildDecoderGraph(m.arch, m.cfg, { logits: 'all' }), { weights: m.weights });
    const session = await ort.InferenceSession.create(bytes);
    const i64 = (xs: number[]) => BigInt64Array.from(xs, BigInt);
    // Row 0: five real tokens; row 1: two pads then three real tokens (positions restart at 0).
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
      input_ids: new ort.Tensor('int64', i64([4, 9, 2, 7, 1, 0, 0, 6, 3, 8]), [2, 5]),
      attention_mask: new ort.Tensor('int64', i64([1, 1, 1, 1, 1, 0, 0, 1, 1, 1]), [2, 5]),
      position_ids: new ort.Tensor('int64', i64([0, 1, 2, 3, 4, 0, 0, 0, 1, 2]), [2, 5]),
    };
    for (let i = 0; i < numLayers; i++) {
      for (const kv of ['key', 'value']) {
        feeds[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [2, numKvHeads, 0, headDim]);
      }
    }
    const batched = (await session.run(feeds)).logits.data as Float32Array;
    const single = await DecoderSession.create(m.arch, m.cfg, m.weights, { logits: 'all', threads: 1 });
    const row0 = await single.prefill([4, 9, 2, 7, 1]);
    const row1 = await single.prefill([6, 3, 8]);
    expect(maxAbsDiff(batched.subarray(0, 5 * V), row0)).toBeLessThan(1e-4);
    expect(maxAbsDiff(batched.subarray(7 * V, 10 * V), row1)).toBeLessThan(1e-4);
    expect(batched.every(Number.isFinite)).toBe(true);
    await single.release();
    await session.release();
  });

  it('fromConfig picks the architecture from model_type', async () => {
    const raw = TINY_CONFIGS['qwen2 (q/k/v bias)'];
    const m = tinyModel(raw, 2);
    const s = await DecoderSession.fromConfig(raw, m.weights, { threads: 1 });
    expect(s.config.modelType).toBe('qwen2');
    expect((await s.prefill([1, 2, 3])).length).toBe(m.cfg.vocabSize);
    await s.release();
  });
});

describe('decoderSessionOptions', () => {
  it('sleeps idle intra-op threads rather than spinning (bench:quant measures why), with the threads asked for', () => {
    const o = decoderSessionOptions(2);
    expect(o.intraOpNumThreads).toBe(2);
    expect(o.extra).toEqual({ session: { 'intra_op.allow_spinning': '0' } });
  });
});
