import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { loadTextDataset } from '../../src/data/dataset.js';
import { startFakeHub, type FakeHub } from '../hub/fakeHub.js';
import { writeParquet } from './parquet-writer.js';

// The hub settings come from the environment (HF_ENDPOINT, HF_HUB_CACHE), as smox reads them.
let tmp: string;
let hub: FakeHub | undefined;
const saved = { ...process.env };
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-hubdata-'));
});
afterEach(async () => {
  await hub?.close();
  hub = undefined;
  process.env = { ...saved };
  fs.rmSync(tmp, { recursive: true, force: true });
});

it('loads a hub dataset id through the cache: parquet conversion layout, one row per split', async () => {
  const one = (text: string) => writeParquet([{ name: 'text', type: 'string', values: [text] }], 1);
  hub = await startFakeHub([{
    type: 'dataset', name: 'karpathy/tiny_shakespeare', refs: { main: 'a'.repeat(40), 'refs/convert/parquet': 'b'.repeat(40) },
    files: {
      'default/train/0000.parquet': one('First Citizen:\nBefore we proceed'),
      'default/validation/0000.parquet': one('GREMIO:\nGood morrow'),
      'default/test/0000.parquet': one('Clown:\nNay'),
      'README.md': '# readme',
    },
  }]);
  process.env.HF_ENDPOINT = hub.url;
  process.env.HF_HUB_CACHE = path.join(tmp, 'hub');
  process.env.HF_HOME = path.join(tmp, 'home');
  delete process.env.HF_TOKEN;
  delete process.env.HF_HUB_OFFLINE;
  const ds = await loadTextDataset('karpathy/tiny_shakespeare', { cwd: tmp, revision: 'refs/convert/parquet' });
  expect(ds.splits).toEqual({
    train: ['First Citizen:\nBefore we proceed'],
    validation: ['GREMIO:\nGood morrow'],
    test: ['Clown:\nNay'],
  });
  expect(ds.files.train![0]).toContain(path.join('datasets--karpathy--tiny_shakespeare', 'snapshots'));
});
