import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readState } from '../../src/core/state.js';
import { Engine, type LoadedModel } from '../../src/engine/engine.js';
import { readCheckpoint } from '../../src/models/checkpoint.js';
import { readGguf } from '../../src/export/gguf-format.js';
import { TINY_LLAMA } from '../transforms/fixtures.js';
import { run, writeTinyModel } from './fixtures.js';

const engine = new Engine({ threads: 1 });
let cwd: string;
beforeAll(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-exporter-'));
  writeTinyModel(path.join(cwd, 'tiny'));
  writeTinyModel(path.join(cwd, 'llama'), TINY_LLAMA);
});
afterAll(() => engine.release());

const exp = (...argv: string[]) => run(cwd, engine, ['io/exporter', ...argv]);
const IDS = [3, 14, 15, 9, 26, 5];

/** Logits for every position of IDS through an exported onnx/model.onnx, fed as transformers.js feeds it. */
async function onnxLogits(dir: string, m: LoadedModel): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(path.join(dir, 'onnx', 'model.onnx'));
  const n = IDS.length;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(IDS, BigInt), [1, n]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from(IDS.map((_, i) => BigInt(i))), [1, n]),
  };
  for (let i = 0; i < m.cfg.numLayers; i++) {
    for (const kv of ['key', 'value']) feeds[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, m.cfg.numKvHeads, 0, m.cfg.headDim]);
  }
  const out = await s.run(feeds);
  await s.release();
  return out.logits.data as Float32Array;
}

async function sessionLogits(m: LoadedModel): Promise<Float32Array> {
  return (await engine.session(m, { logits: 'all' })).prefill(IDS);
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

describe('io/exporter', () => {
  it.each(['tiny', 'llama'])('onnx (%s): transformers.js layout whose graph gives the session\'s logits; the state is unchanged', async (src) => {
    const r = await exp('--model-path', src, '--export-model-path', `${src}-onnx`, '--export-format', 'onnx');
    expect(r.ok, r.error).toBe(true);
    const dir = path.join(cwd, `${src}-onnx`);
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
    const m = await engine.model(src, { cwd });
    const a = await onnxLogits(dir, m);
    expect(a).toHaveLength(IDS.length * m.cfg.vocabSize);
    expect(maxDiff(a, await sessionLogits(m))).toBeLessThan(1e-4);
    expect(readState(cwd)?.model_path ?? null).toBe(null);
  });

  it.each([['tiny', 8, 'DynamicQuantizeMatMul'], ['llama', 4, 'MatMulNBits']] as const)('onnx of a %s quantized to %d bits runs %s and matches our session', async (src, bits, kernel) => {
    const q = await run(cwd, engine, ['transform/quantizer', '--model-path', src, '--output-model-path', `${src}-q${bits}`, '--precision', String(bits)]);
    expect(q.ok, q.error).toBe(true);
    const r = await exp('--model-path', `${src}-q${bits}`, '--export-model-path', `${src}-q${bits}-onnx`, '--export-format', 'onnx');
    expect(r.ok, r.error).toBe(true);
    expect(r.result!.data).toMatchObject({ quantized: true });
    const dir = path.join(cwd, `${src}-q${bits}-onnx`);
    const bytes = fs.readFileSync(path.join(dir, 'onnx', 'model.onnx'));
    expect(bytes.includes(Buffer.from(kernel))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).quantization_config).toBeUndefined();
    const m = await engine.model(`${src}-q${bits}`, { cwd });
    expect(maxDiff(await onnxLogits(dir, m), await sessionLogits(m))).toBeLessThan(1e-3);
    // Smaller than the float export: the quantized matrices are not stored as floats too.
    const float = await exp('--model-path', src, '--export-model-path', `${src}-f-onnx`, '--export-format', 'onnx');
    expect(float.ok).toBe(true);
    expect(bytes.byteLength).toBeLessThan(fs.statSync(path.join(cwd, `${src}-f-onnx`, 'onnx', 'model.onnx')).size);
  });

  it('safetensors/hf: a model directory that reads back to the same weights', async () => {
    const r = await exp('--model-path', 'llama', '--export-model-path', 'hf-out', '--export-format', 'hf');
    expect(r.ok, r.error).toBe(true);
    const a = readCheckpoint(path.join(cwd, 'llama'));
    const b = readCheckpoint(path.join(cwd, 'hf-out'));
    expect([...b.weights.keys()].sort()).toEqual([...a.weights.keys()].sort());
    for (const [k, t] of a.weights) expect(b.weights.get(k)!.data).toEqual(t.data);
    expect(b.tokenizerFiles).toContain('tokenizer.json');
  });

  it('hf of an fp16-stored model stays fp16 on disk, with the same values', async () => {
    const q = await run(cwd, engine, ['transform/quantizer', '--model-path', 'tiny', '--output-model-path', 'tiny-half', '--precision', '16']);
    expect(q.ok, q.error).toBe(true);
    const r = await exp('--model-path', 'tiny-half', '--export-model-path', 'half-hf', '--export-format', 'hf');
    expect(r.ok, r.error).toBe(true);
    const dir = path.join(cwd, 'half-hf');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).torch_dtype).toBe('float16');
    expect(fs.statSync(path.join(dir, 'model.safetensors')).size).toBeLessThan(fs.statSync(path.join(cwd, 'tiny', 'model.safetensors')).size * 0.55);
    const a = readCheckpoint(path.join(cwd, 'tiny-half'));
    const b = readCheckpoint(dir);
    for (const [k, t] of a.weights) expect(b.weights.get(k)!.data, k).toEqual(t.data);
  });

  it('gguf: header, metadata and tensor offsets as llama.cpp reads them', async () => {
    const r = await exp('--model-path', 'tiny', '--export-model-path', 'tiny-export', '--export-format', 'gguf');
    expect(r.ok, r.error).toBe(true);
    const file = path.join(cwd, 'tiny-export.gguf');
    const g = readGguf(fs.readFileSync(file));
    expect(g.version).toBe(3);
    expect(g.metadata.get('general.architecture')).toBe('gpt2');
    expect(g.metadata.get('gpt2.block_count')).toBe(2);
    expect(g.metadata.get('gpt2.embedding_length')).toBe(32);
    expect(g.metadata.get('tokenizer.ggml.model')).toBe('gpt2');
    expect((g.metadata.get('tokenizer.ggml.tokens') as string[]).length).toBe(62);
    const names = g.tensors.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['token_embd.weight', 'position_embd.weight', 'blk.1.attn_qkv.weight', 'blk.0.ffn_down.bias', 'output_norm.weight']));
    // The tied head is token_embd once: llama.cpp's gpt2 loader reads it for output (gguf-llama-cpp.test.ts runs it).
    expect(names).not.toContain('output.weight');
    const qkv = g.tensors.find((t) => t.name === 'blk.0.attn_qkv.weight')!;
    expect(qkv.dims).toEqual([32, 96]); // [out, in] fastest first: in = 32
    for (const t of g.tensors) expect(t.offset % 32).toBe(0);
    // The transposed Conv1D weight, read back at its offset.
    const buf = fs.readFileSync(file);
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset + g.dataStart + qkv.offset, buf.byteOffset + g.dataStart + qkv.offset + 96 * 32 * 4));
    const w = readCheckpoint(path.join(cwd, 'tiny')).weights.get('transformer.h.0.attn.c_attn.weight')!; // [32 in, 96 out]
    expect(data[5 * 32 + 7]).toBe(w.data[7 * 96 + 5]);
    const last = g.tensors.reduce((a, b) => (b.offset > a.offset ? b : a));
    expect(buf.byteLength).toBe(g.dataStart + last.offset + last.dims.reduce((a, b) => a * b, 1) * 4);
  });

  const python = (() => {
    try {
      execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!python)('pt: a zip archive Python unpickles into the same state dict, the tied head sharing its storage', async () => {
    const r = await exp('--model-path', 'tiny', '--export-model-path', 'sd.pt');
    expect(r.ok, r.error).toBe(true);
    const script = `
import zipfile, pickle, numpy as np, collections, sys, json
z = zipfile.ZipFile(sys.argv[1])
class FloatStorage: pass
def rebuild(storage, offset, size, stride, requires_grad, hooks):
    return np.lib.stride_tricks.as_strided(storage[offset:], size, [s * 4 for s in stride])
class U(pickle.Unpickler):
    def find_class(self, mod, name):
        return {('torch._utils', '_rebuild_tensor_v2'): rebuild, ('torch', 'FloatStorage'): FloatStorage, ('collections', 'OrderedDict'): collections.OrderedDict}[(mod, name)]
    def persistent_load(self, pid):
        kind, typ, key, loc, n = pid
        assert kind == 'storage' and typ is FloatStorage and loc == 'cpu'
        return np.frombuffer(z.read('archive/data/' + key), dtype='<f4', count=n)
assert z.read('archive/version') == b'3\\n' and z.read('archive/byteorder') == b'little'
assert all(i.compress_type == 0 for i in z.infolist())
sd = U(z.open('archive/data.pkl')).load()
print(json.dumps({k: [list(v.shape), float(v.astype(np.float64).sum()), float(v.ravel()[-1])] for k, v in sd.items()}))
`;
    const out = JSON.parse(execFileSync('python3', ['-c', script, path.join(cwd, 'sd.pt')], { encoding: 'utf8' })) as Record<string, [number[], number, number]>;
    const w = readCheckpoint(path.join(cwd, 'tiny')).weights;
    expect(Object.keys(out).sort()).toEqual([...w.keys(), 'lm_head.weight'].sort());
    for (const [k, t] of w) {
      expect(out[k][0]).toEqual(t.shape);
      expect(out[k][1]).toBeCloseTo(t.data.reduce((a, b) => a + b, 0), 3);
      expect(out[k][2]).toBe(t.data[t.data.length - 1]);
    }
    expect(out['lm_head.weight']).toEqual(out['transformer.wte.weight']);
  });

  it('pt to a directory: pytorch_model.bin beside config, tokenizer and smolbox.json; a re-export replaces it', async () => {
    const r = await exp('--model-path', 'tiny', '--export-model-path', 'pt-dir');
    expect(r.ok, r.error).toBe(true);
    expect(fs.readdirSync(path.join(cwd, 'pt-dir')).sort()).toEqual(['config.json', 'pytorch_model.bin', 'smolbox.json', 'tokenizer.json', 'tokenizer_config.json']);
    // smolbox.json marks the directory as smolbox's, so exporting onto it again (here as onnx) may replace it.
    const again = await exp('--model-path', 'tiny', '--export-model-path', 'pt-dir', '--export-format', 'onnx');
    expect(again.ok, again.error).toBe(true);
    expect(fs.existsSync(path.join(cwd, 'pt-dir', 'pytorch_model.bin'))).toBe(false);
    expect(fs.existsSync(path.join(cwd, 'pt-dir', 'onnx', 'model.onnx'))).toBe(true);
    expect((await exp('--model-path', 'tiny', '--export-model-path', 'pt-dir')).ok).toBe(true);
    expect(fs.readFileSync(path.join(cwd, 'pt-dir', 'pytorch_model.bin')).readUInt32LE(0)).toBe(0x04034b50);
  });

  it('refuses a directory holding other files and --device cuda, in one line', async () => {
    fs.mkdirSync(path.join(cwd, 'busy'));
    fs.writeFileSync(path.join(cwd, 'busy', 'notes.txt'), 'x');
    const r = await exp('--model-path', 'tiny', '--export-model-path', 'busy', '--export-format', 'onnx');
    expect(r.error).toMatch(/^refusing to replace .*busy: smolbox did not write it .*pass another --export_model_path/);
    expect(fs.readdirSync(path.join(cwd, 'busy'))).toEqual(['notes.txt']);
    expect((await exp('--model-path', 'tiny', '--device', 'cuda')).error).toMatch(/^--device cuda is not supported/);
  });
});
