/**
 * npm in this project: `npm ci` must run no dependency install script (onnxruntime-node's
 * would download CUDA binaries from NuGet), and npm must not warn about the project's config.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('npm config of the project', () => {
  it('turns install scripts off with a setting npm knows, so it warns about nothing', () => {
    const r = spawnSync('npm', ['config', 'get', 'ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
      // A newer-npm notice would be stderr too, and is not about the project.
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('true');
    expect(r.stderr).toBe('');
  });
});
