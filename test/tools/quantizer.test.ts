import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readState } from '../../src/core/state.js';
import { Engine, type LoadedModel } from '../../src/engine/engine.js';
import { readCheckpoint } from '../../src/models/checkpoint.js';
import { readSafetensorsHeader } from '../../src/models/safetensors.js';
import { scoreTokens } from '../../src/runtime/score.js';
import { TINY_LLAMA } from '../transforms/fixtures.js';
import { run, writeTinyModel } from './fixtures.js';

const engine = new Engine({ threads: 1 });
let cwd: string;
beforeAll(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-quantizer-'));
  writeTinyModel(path.join(cwd, 'tiny'));
  writeTinyModel(path.join(cwd, 'llama'), TINY_LLAMA);
});
afterAll(() => engine.release());

const TEXT = 'the quick brown fox jumps over the lazy dog. to be, or not to be: that is the question.';

async function nll(m: LoadedModel, e = engine): Promise<number> {
  const ids = Int32Array.from(m.tokenizer!.encode(TEXT));
  const session = await e.session(m, { logits: 'all' });
  return (await scoreTokens(session, ids, { context: 64 })).nll;
}

const header = (dir: string) => {
  const fd = fs.openSync(path.join(dir, 'model.safetensors'), 'r');
  try {
    return readSafetensorsHeader(fd, dir).tensors;
  } finally {
    fs.closeSync(fd);
  }
};

describe('transform/quantizer', () => {
  it.each([
    ['tiny', 8, 'transformer.h.0.attn.c_attn.weight', 0.02],
    ['tiny', 4, 'transformer.h.1.mlp.c_proj.weight', 0.5],
    // Random weights are the hard case for 8-bit's activations rounded per call (nothing but
    // noise to fit); the trained model below is held to +0.5 %.
    ['llama', 8, 'model.layers.0.self_attn.q_proj.weight', 0.05],
    ['llama', 4, 'model.layers.1.mlp.down_proj.weight', 0.5],
  ] as const)('%s to %d-bit blocks: payload + fp16 scales on disk, perplexity barely moves, reload = memory', async (src, bits, probe, tolerance) => {
    const out = `${src}-q${bits}`;
    const before = await nll(await engine.model(src, { cwd }));
    const r = await run(cwd, engine, ['transform/quantizer', '--model-path', src, '--output-model-path', out, '--precision', String(bits)]);
    expect(r.ok, r.error).toBe(true);
    expect(readState(cwd)?.model_path).toBe(out);
    const dir = path.join(cwd, out);
    const h = header(dir);
    expect(h.has(probe)).toBe(false);
    const [rows, cols] = src === 'tiny' ? [...readCheckpoint(path.join(cwd, src)).weights.get(probe)!.shape].reverse() : readCheckpoint(path.join(cwd, src)).weights.get(probe)!.shape;
    expect(h.get(`${probe}.qweight`)).toMatchObject({ dtype: 'U8', shape: [rows, cols / 32, 32 * bits / 8] });
    expect(h.get(`${probe}.scales`)).toMatchObject({ dtype: 'F16', shape: [rows, cols / 32] });
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(cfg.quantization_config).toMatchObject({ quant_method: 'smolbox_blocks', bits, block_size: 32 });

    const adopted = await engine.model(out, { cwd });
    const after = await nll(adopted);
    const fresh = new Engine({ threads: 1 });
    const reloaded = await fresh.model(out, { cwd });
    expect(reloaded.weights.get(probe)!.data).toEqual(adopted.weights.get(probe)!.data);
    expect(reloaded.weights.has(`${probe}.scales`)).toBe(false);
    expect(await nll(reloaded, fresh)).toBeCloseTo(after, 5);
    await fresh.release();
    console.info(`${src} ${bits}-bit: perplexity ${Math.exp(before).toFixed(3)} → ${Math.exp(after).toFixed(3)} (NLL ${before.toFixed(4)} → ${after.toFixed(4)}), rms error ${r.result!.metrics!.rms_error}`);
    expect(after).not.toBe(before);
    expect(Math.abs(after - before)).toBeLessThan(tolerance);
  });

  it('keeps a trained model\'s held-out perplexity: int8 within +0.5 %, int4 within +3 %', async () => {
    const perplexity = async (model: string) => {
      const r = await run(cwd, engine, ['eval/perplexity', '--model_path', model, '--dataset_path', 'builtin:tiny_shakespeare', '--max_tokens', '4000']);
      expect(r.ok, r.error).toBe(true);
      return (r.result!.metrics as { perplexity: number }).perplexity;
    };
    const fp32 = await perplexity('builtin:shakespeare-char');
    for (const [bits, limit] of [[8, 1.005], [4, 1.03]] as const) {
      const q = await run(cwd, engine, ['transform/quantizer', '--model_path', 'builtin:shakespeare-char', '--output_model_path', `char-q${bits}`, '--precision', String(bits)]);
      expect(q.ok, q.error).toBe(true);
      const ratio = (await perplexity(`char-q${bits}`)) / fp32;
      console.info(`shakespeare-char ${bits}-bit: perplexity ×${ratio.toFixed(4)}`);
      expect(ratio).toBeLessThan(limit);
      expect(ratio).not.toBe(1);
    }
  });

  it('the engine\'s sessions run the payload through the integer kernels, not the float copies', async () => {
    const r = await run(cwd, engine, ['transform/quantizer', '--model-path', 'llama', '--output-model-path', 'llama-nbits', '--precision', '4']);
    expect(r.ok, r.error).toBe(true);
    const m = await engine.model('llama-nbits', { cwd });
    // The 14 projections at 4 bits, and by default the (untied) head at 8.
    expect(m.quantized.size).toBe(15);
    expect(m.quantized.get('lm_head.weight')?.bits).toBe(8);
    expect(engine.summary()?.dtype).toBe('int4 blocks (14 matrices), int8 blocks (1 matrix) + float32');
    const ids = [4, 8, 15, 16, 23, 42];
    const logits = await (await engine.session(m, { logits: 'all' })).prefill(ids);
    // The same model with every quantized matrix's float copy zeroed: the integer kernels do not read them.
    const ckpt = readCheckpoint(path.join(cwd, 'llama-nbits'));
    const zeroed = new Map(ckpt.weights);
    for (const name of m.quantized.keys()) zeroed.set(name, { shape: ckpt.weights.get(name)!.shape, data: new Float32Array(ckpt.weights.get(name)!.data.length) });
    const other = new Engine({ threads: 1 });
    const z = await other.adopt(path.join(cwd, 'llama-nbits'), { config: ckpt.config, weights: zeroed, raw: ckpt.raw });
    const same = await (await other.session(z, { logits: 'all' })).prefill(ids);
    expect(same).toEqual(logits);
    // …while the float path (temporary weights, as the tweaker uses) does read them. The two
    // differ only by the kernels' rounding of the activations to 8 bits (and the 8-bit head's
    // weights to one scale per column).
    const floats = await (await other.session(z, { logits: 'all', weights: m.weights })).prefill(ids);
    const scale = Math.max(...floats.map(Math.abs));
    console.info(`int8-activation rounding: max |Δlogit| ${Math.max(...floats.map((v, i) => Math.abs(v - logits[i]))).toFixed(4)} of max |logit| ${scale.toFixed(2)}`);
    expect(Math.max(...floats.map((v, i) => Math.abs(v - logits[i])))).toBeLessThan(0.05 * scale);
    const zeros = await (await other.session(z, { logits: 'all', weights: zeroed })).prefill(ids);
    expect(zeros).not.toEqual(logits);
    await other.release();
  });

  it('a tied head is one quantized tensor (8-bit by default beside 4-bit layers) that the embedding rows and the head both read from its blocks', async () => {
    const r = await run(cwd, engine, ['transform/quantizer', '--model-path', 'tiny', '--output-model-path', 'tiny-tied4', '--precision', '4']);
    expect(r.ok, r.error).toBe(true);
    const dir = path.join(cwd, 'tiny-tied4');
    const h = header(dir);
    const wte = readCheckpoint(path.join(cwd, 'tiny')).weights.get('transformer.wte.weight')!.shape;
    expect(h.has('transformer.wte.weight')).toBe(false);
    expect(h.get('transformer.wte.weight.qweight')).toMatchObject({ shape: [wte[0], wte[1] / 32, 32] });
    expect(h.get('transformer.h.0.mlp.c_fc.weight.qweight')?.shape.at(-1)).toBe(16);
    expect(h.has('transformer.wpe.weight')).toBe(true);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(cfg.quantization_config).toMatchObject({ bits: 4, module_bits: { 'transformer.wte.weight': 8 } });

    // Zero the float copy of every quantized matrix (the tied embedding included): a session
    // that gathers rows from the float embedding would change its logits.
    const m = await engine.model('tiny-tied4', { cwd });
    const ids = [4, 8, 15, 16, 23, 42];
    const logits = await (await engine.session(m, { logits: 'all' })).prefill(ids);
    const ckpt = readCheckpoint(dir);
    const zeroed = new Map(ckpt.weights);
    for (const name of m.quantized.keys()) zeroed.set(name, { shape: ckpt.weights.get(name)!.shape, data: new Float32Array(ckpt.weights.get(name)!.data.length) });
    const other = new Engine({ threads: 1 });
    const z = await other.adopt(dir, { config: ckpt.config, weights: zeroed, raw: ckpt.raw });
    expect(await (await other.session(z, { logits: 'all' })).prefill(ids)).toEqual(logits);
    await other.release();

    const all4 = await run(cwd, engine, ['transform/quantizer', '--model-path', 'tiny', '--output-model-path', 'tiny-all4', '--precision', '4', '--head_precision', '4']);
    expect(all4.ok, all4.error).toBe(true);
    expect(header(path.join(cwd, 'tiny-all4')).get('transformer.wte.weight.qweight')?.shape.at(-1)).toBe(16);
    expect(JSON.parse(fs.readFileSync(path.join(cwd, 'tiny-all4', 'config.json'), 'utf8')).quantization_config.module_bits).toBeUndefined();
  });

  it('--head_precision 32 keeps the head (here the tied embedding) float', async () => {
    const r = await run(cwd, engine, ['transform/quantizer', '--model-path', 'tiny', '--output-model-path', 'tiny-linear', '--precision', '8', '--head_precision', '32']);
    expect(r.ok, r.error).toBe(true);
    const h = header(path.join(cwd, 'tiny-linear'));
    expect(h.get('transformer.wte.weight')?.dtype).toBe('F32');
    expect(h.has('transformer.h.1.attn.c_proj.weight.qweight')).toBe(true);
  });

  it('16 stores fp16 and keeps the values a reload gives', async () => {
    const r = await run(cwd, engine, ['transform/quantizer', '--model-path', 'tiny', '--output-model-path', 'half', '--precision', '16']);
    expect(r.ok, r.error).toBe(true);
    const h = header(path.join(cwd, 'half'));
    expect([...h.values()].every((t) => t.dtype === 'F16')).toBe(true);
    const adopted = await engine.model('half', { cwd });
    expect(engine.summary()?.dtype).toBe('float32 (stored float16)');
    expect(readCheckpoint(path.join(cwd, 'half')).weights.get('transformer.wte.weight')!.data).toEqual(adopted.weights.get('transformer.wte.weight')!.data);
    expect(JSON.parse(fs.readFileSync(path.join(cwd, 'half', 'config.json'), 'utf8')).torch_dtype).toBe('float16');
  });

  it('refuses a precision outside 4, 8, 16 and Conv1D on a llama, before writing', async () => {
    const bad = await run(cwd, engine, ['transform/quantizer', '--model-path', 'tiny', '--output-model-path', 'x', '--precision', '2']);
    expect(bad.error).toMatch(/precision/);
    const conv = await run(cwd, engine, ['transform/quantizer', '--model-path', 'llama', '--output-model-path', 'x', '--layer-types', 'Conv1D']);
    expect(conv.error).toMatch(/^--layer_types Conv1D: conv selects no parameters of this llama model/);
    expect(fs.existsSync(path.join(cwd, 'x'))).toBe(false);
  });
});
