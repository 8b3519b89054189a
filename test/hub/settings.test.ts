import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hubSettings } from '../../src/hub/settings.js';

describe('hubSettings', () => {
  it('uses the Python defaults when nothing is set', () => {
    const s = hubSettings({ HOME: os.homedir() } as NodeJS.ProcessEnv);
    expect(s.hubUrl).toBe('https://huggingface.co');
    expect(s.cacheDir).toBe(path.join(os.homedir(), '.cache', 'huggingface', 'hub'));
    expect(s.offline).toBe(false);
  });

  it('honours HF_HUB_CACHE over HF_HOME, HF_ENDPOINT, HF_HUB_OFFLINE and HF_TOKEN', () => {
    expect(hubSettings({ HF_HOME: '/h' }).cacheDir).toBe(path.join('/h', 'hub'));
    expect(hubSettings({ HF_HOME: '/h', HF_HUB_CACHE: '/c' }).cacheDir).toBe('/c');
    expect(hubSettings({ XDG_CACHE_HOME: '/x', HF_TOKEN_PATH: '/nonexistent' }).cacheDir).toBe(path.join('/x', 'huggingface', 'hub'));
    expect(hubSettings({ HF_HOME: '/h', HF_ENDPOINT: 'http://127.0.0.1:9/' }).hubUrl).toBe('http://127.0.0.1:9');
    for (const v of ['1', 'ON', 'yes', 'True']) expect(hubSettings({ HF_HOME: '/h', HF_HUB_OFFLINE: v }).offline).toBe(true);
    expect(hubSettings({ HF_HOME: '/h', HF_HUB_OFFLINE: '0' }).offline).toBe(false);
    expect(hubSettings({ HF_HOME: '/h', HF_TOKEN: 'hf_a', HUGGING_FACE_HUB_TOKEN: 'hf_b' }).accessToken).toBe('hf_a');
    expect(hubSettings({ HF_HOME: '/h', HUGGING_FACE_HUB_TOKEN: 'hf_b' }).accessToken).toBe('hf_b');
  });

  it('reads the token file a login leaves in HF_HOME, and rejects malformed tokens', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-hfhome-'));
    try {
      expect(hubSettings({ HF_HOME: home }).accessToken).toBeUndefined();
      fs.writeFileSync(path.join(home, 'token'), 'hf_fromfile\n');
      expect(hubSettings({ HF_HOME: home }).accessToken).toBe('hf_fromfile');
      expect(() => hubSettings({ HF_HOME: home, HF_TOKEN: 'secret' })).toThrow(/start with hf_/);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('listCachedRepos', () => {
  it('lists cached model ids from the folder names', async () => {
    const { listCachedRepos } = await import('../../src/hub/cache.js');
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-cache-'));
    try {
      for (const d of ['models--owner--tiny/snapshots', 'models--gpt2/snapshots', 'datasets--a--b/snapshots', 'models--half--done']) {
        fs.mkdirSync(path.join(cache, d), { recursive: true });
      }
      expect(listCachedRepos(cache, 'model')).toEqual(['gpt2', 'owner/tiny']);
      expect(listCachedRepos(cache, 'dataset')).toEqual(['a/b']);
      expect(listCachedRepos(path.join(cache, 'nope'), 'model')).toEqual([]);
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });
});
