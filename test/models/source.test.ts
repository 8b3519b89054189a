import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  listBuiltins,
  packageRoot,
  resolveDatasetSource,
  resolveModelSource,
} from '../../src/models/source.js';
import type { HubSettings } from '../../src/hub/settings.js';
import { closedPort, startFakeHub } from '../hub/fakeHub.js';

let cwd: string;
let offline: HubSettings;
beforeEach(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-src-'));
  // Any accidental hub access fails fast and locally.
  offline = { hubUrl: 'http://127.0.0.1:9', cacheDir: path.join(cwd, 'cache'), offline: true };
});
afterEach(() => fs.rmSync(cwd, { recursive: true, force: true }));

describe('resolveModelSource', () => {
  it('resolves an existing local directory relative to cwd', async () => {
    fs.mkdirSync(path.join(cwd, 'models', 'mine'), { recursive: true });
    expect(await resolveModelSource('models/mine', { cwd })).toBe(path.join(cwd, 'models', 'mine'));
    expect(await resolveModelSource(path.join(cwd, 'models', 'mine') + '/', { cwd })).toBe(path.join(cwd, 'models', 'mine'));
  });

  it('says "no such directory" for paths that look local', async () => {
    fs.mkdirSync(path.join(cwd, 'models'));
    for (const spec of ['./gone', '../gone', '/abs/gone', 'models/typo', 'a/b/c', 'weights.safetensors', 'dir/']) {
      await expect(resolveModelSource(spec, { cwd, settings: offline })).rejects.toThrow(`no such directory: ${spec}`);
    }
  });

  it('refuses a file and an empty spec', async () => {
    fs.writeFileSync(path.join(cwd, 'config.json'), '{}');
    await expect(resolveModelSource('config.json', { cwd })).rejects.toThrow(/config.json is a file; a model is a directory/);
    await expect(resolveModelSource('  ', { cwd })).rejects.toThrow(/no model given/);
  });

  it('treats owner/name and bare names as hub ids (offline: from the cache)', async () => {
    await expect(resolveModelSource('gpt2', { cwd, settings: offline })).rejects.toThrow(/gpt2@main is not in the Hugging Face cache/);
    const snap = path.join(offline.cacheDir, 'models--owner--tiny', 'snapshots', 'c'.repeat(40));
    fs.mkdirSync(snap, { recursive: true });
    fs.writeFileSync(path.join(snap, 'config.json'), '{}');
    fs.writeFileSync(path.join(snap, 'model.safetensors'), '');
    fs.mkdirSync(path.join(offline.cacheDir, 'models--owner--tiny', 'refs'));
    fs.writeFileSync(path.join(offline.cacheDir, 'models--owner--tiny', 'refs', 'main'), 'c'.repeat(40));
    expect(await resolveModelSource('owner/tiny', { cwd, settings: offline })).toBe(snap);
  });

  it('takes a transformers.js variant file, locally and as owner/name/onnx/<file> from the hub cache; other files stay refused', async () => {
    const root = path.join(cwd, 'tjs');
    fs.mkdirSync(path.join(root, 'onnx'), { recursive: true });
    fs.writeFileSync(path.join(root, 'config.json'), '{}');
    fs.writeFileSync(path.join(root, 'onnx', 'model_q4.onnx'), '');
    fs.writeFileSync(path.join(root, 'onnx', 'notes.onnx'), '');
    expect(await resolveModelSource('tjs/onnx/model_q4.onnx', { cwd })).toBe(path.join(root, 'onnx', 'model_q4.onnx'));
    await expect(resolveModelSource('tjs/onnx/notes.onnx', { cwd })).rejects.toThrow(/notes.onnx is a file; a model is a directory/);
    await expect(resolveModelSource('owner/tjs/onnx/model_q4.onnx', { cwd, settings: offline })).rejects.toThrow(/owner\/tjs@main is not in the Hugging Face cache/);
    const snap = path.join(offline.cacheDir, 'models--owner--tjs', 'snapshots', 'e'.repeat(40));
    fs.mkdirSync(path.join(snap, 'onnx'), { recursive: true });
    fs.writeFileSync(path.join(snap, 'config.json'), '{}');
    fs.writeFileSync(path.join(snap, 'onnx', 'model_q4.onnx'), '');
    fs.mkdirSync(path.join(offline.cacheDir, 'models--owner--tjs', 'refs'));
    fs.writeFileSync(path.join(offline.cacheDir, 'models--owner--tjs', 'refs', 'main'), 'e'.repeat(40));
    expect(await resolveModelSource('owner/tjs/onnx/model_q4.onnx', { cwd, settings: offline })).toBe(path.join(snap, 'onnx', 'model_q4.onnx'));
    // The snapshot holds no fp32 variant: asking for it offline is not a hit.
    await expect(resolveModelSource('owner/tjs/onnx/model.onnx', { cwd, settings: offline })).rejects.toThrow(/not in the Hugging Face cache/);
    expect(await resolveModelSource('owner/tjs', { cwd, settings: offline, onnxDtype: 'q4' })).toBe(snap);
  });

  it('downloads hub ids through the hub client', async () => {
    const hub = await startFakeHub([{
      type: 'model', name: 'owner/tiny', refs: { main: 'd'.repeat(40) },
      files: { 'config.json': '{}', 'model.safetensors': Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]) },
    }]);
    try {
      const dir = await resolveModelSource('owner/tiny', { cwd, settings: { ...offline, hubUrl: hub.url, offline: false } });
      expect(dir).toBe(path.join(offline.cacheDir, 'models--owner--tiny', 'snapshots', 'd'.repeat(40)));
      expect(fs.existsSync(path.join(dir, 'config.json'))).toBe(true);
    } finally {
      await hub.close();
    }
    const port = await closedPort();
    await expect(resolveModelSource('owner/other', { cwd, settings: { ...offline, hubUrl: `http://127.0.0.1:${port}`, offline: false } }))
      .rejects.toThrow(/cannot reach .* to download owner\/other/);
  });
});

describe('builtin: sources', () => {
  const made: string[] = [];
  afterEach(() => {
    for (const p of made.reverse()) fs.rmSync(p, { recursive: true, force: true });
    made.length = 0;
  });

  /** Create a throwaway asset in the package (removed afterwards, with any folder it needed). */
  function asset(kind: 'models' | 'datasets', name: string, file?: string): string {
    const assets = path.join(packageRoot(), 'assets');
    const dir = path.join(assets, kind);
    for (const d of [assets, dir]) {
      if (!fs.existsSync(d)) {
        fs.mkdirSync(d);
        made.push(d);
      }
    }
    const p = path.join(dir, name);
    if (file === undefined) fs.mkdirSync(p);
    else fs.writeFileSync(p, file);
    made.push(p);
    return p;
  }

  it('finds the package root from the source tree', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8'));
    expect(pkg.name).toBe('smolbox');
  });

  it('resolves builtin:<name> to assets/models/<name> and lists what exists when it does not', async () => {
    const name = `zz-test-${process.pid}`;
    const p = asset('models', name);
    expect(listBuiltins('models')).toContain(name);
    expect(await resolveModelSource(`builtin:${name}`, { cwd })).toBe(p);
    await expect(resolveModelSource('builtin:nope', { cwd })).rejects.toThrow(new RegExp(`no builtin model "nope"; available: .*builtin:${name}`));
  });

  it('resolves builtin datasets by name with or without their extension', async () => {
    const name = `zz-test-${process.pid}`;
    const p = asset('datasets', `${name}.txt`, 'hello');
    expect(await resolveDatasetSource(`builtin:${name}`, { cwd })).toBe(p);
    expect(await resolveDatasetSource(`builtin:${name}.txt`, { cwd })).toBe(p);
  });
});

describe('resolveDatasetSource', () => {
  it('resolves local files and directories, and names missing ones', async () => {
    fs.writeFileSync(path.join(cwd, 'train.txt'), 'x');
    expect(await resolveDatasetSource('train.txt', { cwd })).toBe(path.join(cwd, 'train.txt'));
    await expect(resolveDatasetSource('missing.jsonl', { cwd, settings: offline })).rejects.toThrow('no such file or directory: missing.jsonl');
  });

  it('treats datasets/owner/name and owner/name as hub datasets', async () => {
    await expect(resolveDatasetSource('datasets/karpathy/tiny_shakespeare', { cwd, settings: offline }))
      .rejects.toThrow(/datasets\/karpathy\/tiny_shakespeare@main is not in the Hugging Face cache/);
    await expect(resolveDatasetSource('karpathy/tiny_shakespeare', { cwd, settings: offline }))
      .rejects.toThrow(/datasets\/karpathy\/tiny_shakespeare@main is not in the Hugging Face cache/);
  });
});
