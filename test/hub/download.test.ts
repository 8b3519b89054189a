import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emitterFor, type ToolEvent, type ProgressEvent } from '../../src/core/events.js';
import { downloadDataset, downloadModel } from '../../src/hub/download.js';
import type { HubSettings } from '../../src/hub/settings.js';
import { writeSafetensors } from '../../src/models/safetensors.js';
import { readCheckpoint } from '../../src/models/checkpoint.js';
import { closedPort, startFakeHub, type FakeHub, type FakeRepo } from './fakeHub.js';
import { tally } from '../faults/inject.js';

const SHA = 'a'.repeat(40);
const SHA2 = 'b'.repeat(40);
const TOKEN = 'hf_testtoken123';

let tmp: string;
let hub: FakeHub | undefined;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-hub-'));
});
afterEach(async () => {
  await hub?.close();
  hub = undefined;
  fs.rmSync(tmp, { recursive: true, force: true });
});

function safetensorsBytes(tensors: Record<string, number[]>): Buffer {
  const file = path.join(tmp, `st-${Math.random()}.safetensors`);
  writeSafetensors(file, new Map(Object.entries(tensors).map(([k, v]) => [k, { shape: [v.length], data: new Float32Array(v) }])));
  return fs.readFileSync(file);
}

function tinyModel(name: string, extra: Partial<FakeRepo> = {}): FakeRepo {
  return {
    type: 'model',
    name,
    refs: { main: SHA },
    files: {
      'config.json': JSON.stringify({ model_type: 'llama', hidden_size: 2 }),
      'model.safetensors': safetensorsBytes({ 'model.norm.weight': [1, 2] }),
      'tokenizer.json': '{"model": {}}',
      'tokenizer_config.json': '{}',
      'generation_config.json': '{"eos_token_id": 2}',
      'README.md': '# big readme',
      'pytorch_model.bin': 'not needed',
      'onnx/model.onnx': 'not needed either',
      '.gitattributes': '*.bin filter=lfs',
    },
    ...extra,
  };
}

function settings(extra: Partial<HubSettings> = {}): HubSettings {
  return { hubUrl: hub!.url, cacheDir: path.join(tmp, 'cache'), offline: false, ...extra };
}

function collect(): { events: ToolEvent[]; emit: ReturnType<typeof emitterFor> } {
  const events: ToolEvent[] = [];
  return { events, emit: emitterFor((e) => events.push(e)) };
}

describe('downloadModel', () => {
  it('downloads only the files a model needs into the standard cache layout', async () => {
    hub = await startFakeHub([tinyModel('owner/tiny')]);
    const { events, emit } = collect();
    const dir = await downloadModel('owner/tiny', { settings: settings(), emit });
    const folder = path.join(tmp, 'cache', 'models--owner--tiny');
    expect(dir).toBe(path.join(folder, 'snapshots', SHA));
    expect(fs.readdirSync(dir).sort()).toEqual([
      'config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json',
    ]);
    expect(fs.readFileSync(path.join(folder, 'refs', 'main'), 'utf8')).toBe(SHA);
    // Snapshot entries are relative symlinks into blobs/ (LFS files by sha256).
    const link = fs.readlinkSync(path.join(dir, 'model.safetensors'));
    expect(link).toMatch(/^\.\.\/\.\.\/blobs\/[0-9a-f]{64}$/);
    expect(fs.readdirSync(path.join(folder, 'blobs')).filter((b) => b.endsWith('.incomplete'))).toEqual([]);
    expect(hub.requests.some((r) => r.url.includes('pytorch_model.bin') || r.url.includes('README'))).toBe(false);
    const progress = events.filter((e): e is ProgressEvent & { type: 'progress' } => e.type === 'progress');
    expect(progress.at(-1)).toMatchObject({ label: 'download owner/tiny', unit: 'B' });
    expect(progress.at(-1)!.current).toBe(progress.at(-1)!.total);
    expect(readCheckpoint(dir).weights.get('model.norm.weight')!.data).toEqual(new Float32Array([1, 2]));
  });

  it('works offline from the cache afterwards, and falls back to it when the network fails', async () => {
    hub = await startFakeHub([tinyModel('owner/tiny')]);
    const first = await downloadModel('owner/tiny', { settings: settings() });
    const before = hub.requests.length;
    expect(await downloadModel('owner/tiny', { settings: settings({ offline: true }) })).toBe(first);
    expect(hub.requests.length).toBe(before);
    // A cached commit needs no network either.
    expect(await downloadModel('owner/tiny', { settings: settings(), revision: SHA })).toBe(first);
    expect(hub.requests.length).toBe(before);
    await hub.close();
    const { events, emit } = collect();
    expect(await downloadModel('owner/tiny', { settings: settings(), emit })).toBe(first);
    expect(events).toContainEqual(expect.objectContaining({ type: 'log', level: 'warn', message: expect.stringMatching(/cannot reach .* using the cached copy of owner\/tiny/) }));
    hub = undefined;
  });

  it('a second online call reuses cached blobs', async () => {
    hub = await startFakeHub([tinyModel('owner/tiny')]);
    await downloadModel('owner/tiny', { settings: settings() });
    const resolves = () => hub!.requests.filter((r) => r.url.includes('/resolve/')).length;
    const n = resolves();
    await downloadModel('owner/tiny', { settings: settings() });
    expect(resolves()).toBe(n);
  });

  it('forwards HF_TOKEN as a Bearer header and explains a 401 without it', async () => {
    hub = await startFakeHub([tinyModel('owner/private', { token: TOKEN })]);
    await expect(downloadModel('owner/private', { settings: settings() }))
      .rejects.toThrow(/private or gated: owner\/private \(HTTP 401\); set HF_TOKEN/);
    const dir = await downloadModel('owner/private', { settings: settings({ accessToken: TOKEN }) });
    expect(fs.existsSync(path.join(dir, 'config.json'))).toBe(true);
    const authed = hub.requests.filter((r) => r.auth);
    expect(authed.length).toBeGreaterThan(3);
    expect(authed.every((r) => r.auth === `Bearer ${TOKEN}`)).toBe(true);
    expect(hub.requests.filter((r) => r.url.includes('/resolve/')).every((r) => r.auth === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('says "no such model on the hub" for a 404 and names a missing revision', async () => {
    hub = await startFakeHub([tinyModel('owner/tiny')]);
    await expect(downloadModel('owner/missing', { settings: settings() })).rejects.toThrow(/^no such model on the hub: owner\/missing$/);
    await expect(downloadModel('owner/tiny', { settings: settings(), revision: 'v9' })).rejects.toThrow(/no such model or revision on the hub: owner\/tiny@v9/);
  });

  it('gives a one-line fix when the hub is unreachable and nothing is cached', async () => {
    const port = await closedPort();
    const s: HubSettings = { hubUrl: `http://127.0.0.1:${port}`, cacheDir: path.join(tmp, 'cache'), offline: false };
    await expect(downloadModel('gpt2', { settings: s })).rejects.toThrow(
      /^cannot reach http:\/\/127\.0\.0\.1:\d+ to download gpt2, and it is not in the cache .*: check the network or HF_ENDPOINT, or set HF_HUB_OFFLINE=1 after caching it$/,
    );
    await expect(downloadModel('gpt2', { settings: { ...s, offline: true } })).rejects.toThrow(
      /gpt2@main is not in the Hugging Face cache .* and HF_HUB_OFFLINE is set/,
    );
  });

  it('downloads sharded weights named by the index, and refuses .bin-only repos', async () => {
    const sharded: FakeRepo = {
      type: 'model', name: 'owner/sharded', refs: { main: SHA },
      files: {
        'config.json': '{"model_type": "llama"}',
        'model.safetensors.index.json': JSON.stringify({ weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }),
        'model-00001-of-00002.safetensors': safetensorsBytes({ a: [1] }),
        'model-00002-of-00002.safetensors': safetensorsBytes({ b: [2] }),
        'model-old.safetensors': 'stale, not in the index',
      },
    };
    const binOnly: FakeRepo = { type: 'model', name: 'legacy', refs: { main: SHA }, files: { 'config.json': '{}', 'pytorch_model.bin': 'x' } };
    hub = await startFakeHub([sharded, binOnly]);
    const dir = await downloadModel('owner/sharded', { settings: settings() });
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
    expect([...readCheckpoint(dir).weights.keys()]).toEqual(['a', 'b']);
    await expect(downloadModel('legacy', { settings: settings() })).rejects.toThrow(/legacy on the hub has only pytorch_model.bin/);
  });

  it('stops when aborted', async () => {
    hub = await startFakeHub([tinyModel('owner/tiny')]);
    const ac = new AbortController();
    ac.abort();
    await expect(downloadModel('owner/tiny', { settings: settings(), signal: ac.signal })).rejects.toThrow(/abort/i);
  });
});

describe('downloadDataset', () => {
  it('fetches parquet files of a converted revision and records the nested ref', async () => {
    hub = await startFakeHub([{
      type: 'dataset', name: 'karpathy/tiny_shakespeare', refs: { main: SHA, 'refs/convert/parquet': SHA2 },
      files: {
        'default/train/0000.parquet': 'PAR1 train',
        'default/test/0000.parquet': 'PAR1 test',
        'README.md': 'readme',
      },
    }]);
    const dir = await downloadDataset('datasets/karpathy/tiny_shakespeare', { settings: settings(), revision: 'refs/convert/parquet' });
    const folder = path.join(tmp, 'cache', 'datasets--karpathy--tiny_shakespeare');
    expect(dir).toBe(path.join(folder, 'snapshots', SHA2));
    expect(fs.readFileSync(path.join(dir, 'default/train/0000.parquet'), 'utf8')).toBe('PAR1 train');
    expect(fs.existsSync(path.join(dir, 'README.md'))).toBe(false);
    expect(fs.readFileSync(path.join(folder, 'refs', 'refs', 'convert', 'parquet'), 'utf8')).toBe(SHA2);
    const only = await downloadDataset('karpathy/tiny_shakespeare', {
      settings: settings({ offline: true }), revision: 'refs/convert/parquet',
    });
    expect(only).toBe(dir);
    await expect(downloadDataset('karpathy/tiny_shakespeare', { settings: settings(), files: (p) => p.endsWith('.csv') }))
      .rejects.toThrow(/has no matching data files/);
  });
});

describe('a hostile or broken hub', () => {
  // Counted into the fault-injection summary (test/faults/summary.ts).
  let cases = 0;
  afterEach(() => void cases++);
  afterAll(() => tally('hostile hub', { cases, faults: cases, lost: 0 }));

  /** Every file under the temp root that is not in the cache's own layout (the escape we guard against). */
  function outsideCache(): string[] {
    // st-*.safetensors are the fixtures tinyModel writes.
    return fs.readdirSync(tmp, { recursive: true }).map(String).filter((p) => !p.startsWith('cache') && !p.startsWith('st-'));
  }
  /** Files in blobs/ (complete or not) and snapshot entries: what a failed download must not leave. */
  function cached(): string[] {
    const folder = path.join(tmp, 'cache', 'models--owner--tiny');
    const list = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d, { recursive: true }).map(String) : []);
    return [...list(path.join(folder, 'blobs')), ...list(path.join(folder, 'snapshots')).filter((p) => p.includes('.'))];
  }
  /** Blobs whose bytes do not hash to their name (sha256, or git's sha1 of "blob <size>\0" + bytes). */
  function unverifiedBlobs(): string[] {
    const blobs = path.join(tmp, 'cache', 'models--owner--tiny', 'blobs');
    if (!fs.existsSync(blobs)) return [];
    return fs.readdirSync(blobs).filter((name) => {
      const b = fs.readFileSync(path.join(blobs, name));
      const sha256 = crypto.createHash('sha256').update(b).digest('hex');
      const sha1 = crypto.createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
      return name !== sha256 && name !== sha1;
    });
  }

  it.each([
    ['../../../../evil.txt', /names an unsafe path "\.\.\/\.\.\/\.\.\/\.\.\/evil\.txt"/],
    ['/tmp/evil.txt', /names an unsafe path "\/tmp\/evil\.txt"/],
    ['a\\..\\..\\evil.txt', /names an unsafe path "a\\\\\.\.\\\\\.\.\\\\evil\.txt"/],
    ['a/./b.txt', /names an unsafe path "a\/\.\/b\.txt"/],
  ])('refuses a listed file path %s, naming the repo and the path, before writing', async (bad, message) => {
    hub = await startFakeHub([{
      type: 'dataset', name: 'owner/d', refs: { main: SHA }, files: { 'data.txt': 'hello' },
      tamper: { tree: (e) => ({ ...e, path: bad }) },
    }]);
    const err = await downloadDataset('owner/d', { settings: settings() }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toMatch(/^the hub's file list for datasets\/owner\/d .*; refusing to write it; check that HF_ENDPOINT/);
    expect(outsideCache()).toEqual([]);
  });

  it.each([
    ['config.json', 'oid', (e: Record<string, unknown>) => ({ ...e, oid: '../../../../evil' })],
    ['model.safetensors', 'lfs.oid', (e: Record<string, unknown>) => ({ ...e, lfs: { ...(e.lfs as object), oid: '../../../evil-lfs' } })],
    ['model.safetensors', 'lfs.oid', (e: Record<string, unknown>) => ({ ...e, lfs: { ...(e.lfs as object), oid: 'A'.repeat(64) } })],
  ])('refuses %s with a traversal or non-sha %s, naming the repo and the value; nothing lands outside the cache', async (file, what, edit) => {
    hub = await startFakeHub([tinyModel('owner/tiny', { tamper: { tree: (e) => (e.path === file ? edit(e) : e) } })]);
    const err = await downloadModel('owner/tiny', { settings: settings() }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(new RegExp(`^the hub's file list for owner/tiny gives ${file.replace('.', '\\.')} the ${what.replace('.', '\\.')} "[^"]+", not a sha; refusing to write it`));
    expect(outsideCache()).toEqual([]);
    expect(cached().filter((p) => p.includes('evil'))).toEqual([]);
  });

  it.each([
    ['model.safetensors', 'sha256'],
    ['config.json', 'git sha1'],
  ])('refuses %s whose bytes (right length, one flipped) do not match the announced %s; nothing is cached', async (file, algo) => {
    hub = await startFakeHub([tinyModel('owner/tiny', {
      tamper: { body: (p, b) => (p === file ? { body: Buffer.from(b.map((x, i) => (i === b.length - 2 ? x ^ 1 : x))) } : { body: b }) },
    })]);
    const err = await downloadModel('owner/tiny', { settings: settings() }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(new RegExp(`^owner/tiny: ${file.replace('.', '\\.')} downloaded with ${algo} [0-9a-f]+, but the hub announced [0-9a-f]+; nothing was cached`));
    expect(unverifiedBlobs()).toEqual([]);
    expect(fs.existsSync(path.join(tmp, 'cache', 'models--owner--tiny', 'snapshots', SHA, file))).toBe(false);
    // The same download from an honest hub then succeeds: no bad blob stands in its way.
    await hub.close();
    hub = await startFakeHub([tinyModel('owner/tiny')]);
    const dir = await downloadModel('owner/tiny', { settings: settings() });
    expect(readCheckpoint(dir).weights.get('model.norm.weight')!.data).toEqual(new Float32Array([1, 2]));
  });

  it('a body that stalls midway is cancelled by the signal (Ctrl-C), caching nothing of it', async () => {
    const ac = new AbortController();
    hub = await startFakeHub([tinyModel('owner/tiny', {
      tamper: { body: (p, b) => (p === 'model.safetensors' ? { body: b.subarray(0, 40), declared: b.length, stall: () => ac.abort() } : { body: b }) },
    })]);
    const err = await downloadModel('owner/tiny', { settings: settings(), signal: ac.signal }).catch((e: Error) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(cached().filter((p) => p.endsWith('.incomplete') || p.endsWith('model.safetensors'))).toEqual([]);
    expect(unverifiedBlobs()).toEqual([]);
  });

  it('names a body cut short as truncated (got N of M bytes), not as a network problem, and caches nothing of it', async () => {
    let size = 0;
    hub = await startFakeHub([tinyModel('owner/tiny', {
      tamper: { body: (p, b) => (p === 'model.safetensors' ? ((size = b.length), { body: b.subarray(0, 40), declared: b.length }) : { body: b }) },
    })]);
    const err = await downloadModel('owner/tiny', { settings: settings() }).catch((e: Error) => e);
    expect((err as Error).message).toBe(`download of owner/tiny/model.safetensors is truncated: got 40 of ${size} bytes (the body was cut short); try again`);
    expect(cached().filter((p) => p.endsWith('.incomplete') || p.endsWith('model.safetensors'))).toEqual([]);
    expect(unverifiedBlobs()).toEqual([]);
  });
});
