/**
 * io/importer with hub ids, against a fake hub on 127.0.0.1 (HF_ENDPOINT, HF_HOME, HF_HUB_OFFLINE):
 * safetensors checkpoints, and transformers.js-layout ONNX models (one variant fetched, with its
 * external data).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readState } from '../../src/core/state.js';
import { Engine } from '../../src/engine/engine.js';
import { writeOnnxModel } from '../../src/export/onnx.js';
import { closedPort, startFakeHub, type FakeHub } from '../hub/fakeHub.js';
import { run, writeTinyModel } from './fixtures.js';

const SHA = 'c'.repeat(40);
const engine = new Engine({ threads: 1 });
const saved = { ...process.env };
let cwd: string;
let hub: FakeHub | undefined;

function repoFiles(dir: string): Record<string, Buffer> {
  return Object.fromEntries(fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .map((f) => [f.split(path.sep).join('/'), fs.readFileSync(path.join(dir, f))]));
}

beforeEach(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-import-'));
  writeTinyModel(path.join(cwd, 'src'));
  process.env.HF_HOME = path.join(cwd, 'hf');
  delete process.env.HF_HUB_CACHE;
  delete process.env.HF_TOKEN;
  delete process.env.HF_HUB_OFFLINE;
});
afterEach(async () => {
  await hub?.close();
  hub = undefined;
  process.env = { ...saved };
});
afterAll(() => engine.release());

describe('io/importer from the hub', () => {
  it('downloads into HF_HOME\'s cache, records the id in the state, and works offline afterwards', async () => {
    hub = await startFakeHub([{ type: 'model', name: 'owner/tiny', refs: { main: SHA }, files: repoFiles(path.join(cwd, 'src')) }]);
    process.env.HF_ENDPOINT = hub.url;
    const r = await run(cwd, engine, ['io/importer', '--model-path', 'owner/tiny']);
    expect(r.ok, r.error).toBe(true);
    expect(readState(cwd)?.model_path).toBe('owner/tiny');
    expect(fs.existsSync(path.join(cwd, 'hf', 'hub', 'models--owner--tiny', 'snapshots', SHA, 'model.safetensors'))).toBe(true);
    await hub.close();
    hub = undefined;
    process.env.HF_HUB_OFFLINE = '1';
    const s = await run(cwd, new Engine({ threads: 1 }), ['infer/sampler', '--max-new-tokens', '2']);
    expect(s.ok, s.error).toBe(true);
  });

  it('without network and cache: one line naming the id and the offline fallback', async () => {
    process.env.HF_ENDPOINT = `http://127.0.0.1:${await closedPort()}`;
    const r = await run(cwd, engine, ['io/importer', '--model-path', 'owner/absent']);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/owner\/absent/);
    expect(r.error).toMatch(/HF_HUB_OFFLINE|offline/i);
    expect(r.error!.includes('\n')).toBe(false);
    expect(readState(cwd)?.model_path ?? null).toBe(null);
  });
});

describe('io/importer of a transformers.js-layout model from the hub', () => {
  /**
   * The tiny model as the hub has such models: config, tokenizer, onnx/model.onnx with its
   * weights in model.onnx_data, and a smaller int4 variant as model_q4.onnx. No safetensors.
   */
  async function onnxRepo(): Promise<Record<string, Buffer>> {
    const e = new Engine({ threads: 1 });
    const src = await e.model('src', { cwd });
    writeOnnxModel(path.join(cwd, 'tjs'), { arch: src.arch, cfg: src.cfg, weights: src.weights, quantized: new Map() }, { externalAbove: 0 });
    const q = await run(cwd, e, ['transform/quantizer', '--model_path', 'src', '--precision', '4', '--output_model_path', 'src-q4']);
    expect(q.ok, q.error).toBe(true);
    const x = await run(cwd, e, ['io/exporter', '--model_path', 'src-q4', '--export_format', 'onnx', '--export_model_path', 'onnx-q4']);
    expect(x.ok, x.error).toBe(true);
    await e.release();
    fs.copyFileSync(path.join(cwd, 'onnx-q4', 'onnx', 'model.onnx'), path.join(cwd, 'tjs', 'onnx', 'model_q4.onnx'));
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(cwd, 'src', f), path.join(cwd, 'tjs', f));
    return repoFiles(path.join(cwd, 'tjs'));
  }

  const greedy = ['infer/sampler', '--prompt', 'the ', '--max-new-tokens', '8', '--no-do-sample'];
  const snapshot = () => path.join(cwd, 'hf', 'hub', 'models--owner--tjs', 'snapshots', SHA);

  it('--dtype fetches that variant and its external data (data first), records owner/name/onnx/<file>, and samples offline afterwards as our engine does', async () => {
    hub = await startFakeHub([{ type: 'model', name: 'owner/tjs', refs: { main: SHA }, files: await onnxRepo() }]);
    process.env.HF_ENDPOINT = hub.url;
    const r = await run(cwd, engine, ['io/importer', '--model-path', 'owner/tjs', '--dtype', 'fp32']);
    expect(r.ok, r.error).toBe(true);
    expect(readState(cwd)?.model_path).toBe('owner/tjs/onnx/model.onnx');
    expect(fs.readdirSync(path.join(snapshot(), 'onnx')).sort()).toEqual(['model.onnx', 'model.onnx_data']);
    const fetched = hub.requests.filter((q) => q.method === 'GET' && q.url.includes('/resolve/')).map((q) => q.url.split('/resolve/')[1].split('/').slice(1).join('/'));
    expect(fetched.indexOf('onnx/model.onnx_data')).toBeGreaterThanOrEqual(0);
    expect(fetched.indexOf('onnx/model.onnx_data')).toBeLessThan(fetched.indexOf('onnx/model.onnx'));
    expect(fetched.some((f) => f.includes('q4'))).toBe(false);
    await hub.close();
    hub = undefined;
    process.env.HF_HUB_OFFLINE = '1';
    const fresh = new Engine({ threads: 1 });
    const theirs = await run(cwd, fresh, greedy, true);
    expect(theirs.ok, theirs.error).toBe(true);
    const ours = await run(cwd, fresh, [...greedy, '--model_path', 'src'], true);
    await fresh.release();
    expect(theirs.result?.data).toMatchObject({ engine: 'transformers.js (onnx/model.onnx)', generated_ids: (ours.result?.data as { generated_ids: number[] }).generated_ids });
  });

  it('without --dtype (no safetensors) fetches only the smallest variant that runs on the CPU', async () => {
    hub = await startFakeHub([{ type: 'model', name: 'owner/tjs', refs: { main: SHA }, files: await onnxRepo() }]);
    process.env.HF_ENDPOINT = hub.url;
    const r = await run(cwd, engine, ['io/importer', '--model-path', 'owner/tjs']);
    expect(r.ok, r.error).toBe(true);
    expect(readState(cwd)?.model_path).toBe('owner/tjs/onnx/model_q4.onnx');
    expect(fs.readdirSync(path.join(snapshot(), 'onnx'))).toEqual(['model_q4.onnx']);
    const s = await run(cwd, engine, greedy);
    expect(s.ok, s.error).toBe(true);
    const missing = await run(cwd, engine, ['io/importer', '--model-path', 'owner/tjs', '--dtype', 'q8']);
    expect(missing.error).toBe('owner/tjs on the hub has no q8 ONNX variant (onnx/model_quantized.onnx); it has fp32, q4');
  });
});
