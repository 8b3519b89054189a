/** io/importer with hub ids, against a fake hub on 127.0.0.1 (HF_ENDPOINT, HF_HOME, HF_HUB_OFFLINE). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readState } from '../../src/core/state.js';
import { Engine } from '../../src/engine/engine.js';
import { closedPort, startFakeHub, type FakeHub } from '../hub/fakeHub.js';
import { run, writeTinyModel } from './fixtures.js';

const SHA = 'c'.repeat(40);
const engine = new Engine({ threads: 1 });
const saved = { ...process.env };
let cwd: string;
let hub: FakeHub | undefined;

function repoFiles(dir: string): Record<string, Buffer> {
  return Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f))]));
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
