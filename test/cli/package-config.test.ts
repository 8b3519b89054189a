/**
 * npm in this project: `npm ci` must run no dependency install script (onnxruntime-node's
 * would download CUDA binaries from NuGet), and onnxruntime-node's own skip setting stays for any
 * npm run that does execute scripts; npm warns about that one key only. transformers.js runs on
 * our onnxruntime-node: one installed copy, so one native binding in a process.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('npm config of the project', () => {
  it('turns install scripts off with a setting npm knows and keeps onnxruntime-node-install=skip', () => {
    const r = spawnSync('npm', ['config', 'get', 'ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
      // A newer-npm notice would be stderr too, and is not about the project.
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('true');
    const warnings = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(warnings.every((l) => l.includes('"onnxruntime-node-install"')), r.stderr).toBe(true);
    const skip = spawnSync('npm', ['config', 'get', 'onnxruntime-node-install'], { cwd: root, encoding: 'utf8' });
    expect(skip.stdout.trim()).toBe('skip');
  });

  it('installs one onnxruntime-node, shared by transformers.js', () => {
    const r = spawnSync('npm', ['ls', 'onnxruntime-node', '--parseable', '--all'], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const copies = r.stdout.split('\n').filter((l) => l.trim() !== '');
    expect(copies.map((p) => p.replace(root, '').replace(/\\/g, '/').replace(/^\//, ''))).toEqual(['node_modules/onnxruntime-node']);
  });
});
