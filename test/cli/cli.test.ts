import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { allocatorTuned, GLIBC_MALLOC_TUNABLES, tunedGlibcTunables } from '../../src/runtime/allocator-tuning.js';
import { cliPath, ensureBuilt, smox } from './built-cli.js';

const TOOLS = [
  'eval/perplexity', 'infer/sampler', 'infer/tweaker', 'io/exporter', 'io/importer', 'train/finetuner',
  'transform/editor', 'transform/pruner', 'transform/quantizer', 'transform/reinitializer',
];

/** A user tool whose output depends only on its arguments, so replays hash the same. */
const WRITE_TOOL = `export default {
  summary: 'write words into the output model directory',
  args: {
    model_path: { kind: 'string', default: '<AUTO>', help: 'in', resolves: { key: 'model_path', direction: 'in' } },
    output_model_path: { kind: 'string', default: '<AUTO>', help: 'out', resolves: { key: 'output_model_path', direction: 'out' } },
    words: { kind: 'integer', default: 2, help: 'how many words', min: 1 },
    text: { kind: 'string', default: 'word', help: 'the word' },
    seed: { kind: 'integer', default: null, help: 'seed', min: 0, max: 4294967295, seed: true },
  },
  async run(ctx, a) {
    const fs = await import('node:fs');
    const path = await import('node:path');
    for (let i = 0; i < a.words; i++) ctx.emit.token(a.text + ' ');
    fs.writeFileSync(path.join(ctx.cwd, a.output_model_path, 'words.txt'), (a.text + ' ').repeat(a.words) + a.seed);
    return { metrics: { words: a.words } };
  },
};\n`;

/** A user tool that says it is waiting, then waits until it is cancelled. */
const WAIT_TOOL = `export default {
  summary: 'wait until cancelled',
  args: {},
  async run(ctx) {
    ctx.emit.log('waiting');
    if (!ctx.signal.aborted) await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    return {};
  },
};\n`;

/** A user tool that prints one environment variable of the process it runs in. */
const ENV_TOOL = `export default {
  summary: 'print an environment variable',
  args: { name: { kind: 'string', default: 'PATH', help: 'the variable' } },
  async run(ctx, a) {
    ctx.emit.log(process.env[a.name] ?? '');
    return {};
  },
};\n`;

let toolsDir: string;
let cwd: string;
let env: NodeJS.ProcessEnv;
const tmpDirs: string[] = [];

function tmp(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}

beforeAll(() => {
  ensureBuilt();
  toolsDir = tmp('smox-cli-tools-');
  fs.mkdirSync(path.join(toolsDir, 'demo'));
  fs.writeFileSync(path.join(toolsDir, 'demo', 'write.mjs'), WRITE_TOOL);
  fs.writeFileSync(path.join(toolsDir, 'demo', 'wait.mjs'), WAIT_TOOL);
  fs.writeFileSync(path.join(toolsDir, 'demo', 'env.mjs'), ENV_TOOL);
  env = { SMOLBOX_TOOLS_PATH: toolsDir };
});

afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

beforeEach(() => {
  cwd = tmp('smox-cli-');
});

const historyLines = (dir: string) =>
  fs.readFileSync(path.join(dir, '.smolbox', 'state_history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('smox help and listings', () => {
  it('--help lists commands and every tool', async () => {
    const r = await smox(['--help'], cwd);
    expect(r.code).toBe(0);
    for (const t of TOOLS) expect(r.stdout).toContain(t);
    for (const c of ['ls', 'init', 'reset', 'state', 'set', 'get', 'history', 'export-script', 'config']) {
      expect(r.stdout).toMatch(new RegExp(`\\n  ${c}\\b`));
    }
    expect(fs.existsSync(path.join(cwd, '.smolbox'))).toBe(false);
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect((await smox(['--version'], cwd)).stdout).toBe(`smolbox ${pkg.version}\n`);
  });

  it('ls lists tools by category with summaries, user tools too', async () => {
    const r = await smox(['ls'], cwd, env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/infer\/sampler +Generate text/);
    expect(r.stdout).toMatch(/demo\/write +write words into the output model directory \(user tool\)/);
  });

  it('<tool> --help prints the flags', async () => {
    const r = await smox(['transform/pruner', '--help'], cwd);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--pruning_percentage NUM/);
    expect(r.stdout).toMatch(/--layer_type linear\|conv\|embedding\|all/);
  });
});

describe('smox usage errors', () => {
  it.each([
    [['transform/reinitializer', '--num_layer', '4'], 'smox: error: unknown flag --num_layer; did you mean --num_layers?'],
    [['infer/sampler', '--top_p', '2'], 'smox: error: --top_p must be > 0 and ≤ 1 (got 2)'],
    [['infer/smapler'], 'smox: error: unknown tool or command "infer/smapler"; did you mean infer/sampler?'],
    [['--bogus'], 'smox: error: unknown option --bogus; see smox --help'],
  ])('%j → exit 2 and one line on stderr', async (args, line) => {
    const r = await smox(args, cwd);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr.startsWith(line)).toBe(true);
    expect(r.stdout).toBe('');
    expect(fs.existsSync(path.join(cwd, '.smolbox', 'state_history.jsonl'))).toBe(false);
  });

  it('a tool that fails at run time exits 1 with one line', async () => {
    const r = await smox(['transform/pruner', '--model_path', './m'], cwd);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('smox: error: no such directory: ./m\n');
  });

  it('shows a stack only with --debug', async () => {
    const r = await smox(['transform/pruner', '--model_path', './m', '--debug'], cwd);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').length).toBeGreaterThan(3);
    expect(r.stderr).toMatch(/\n\s*at /);
  });
});

describe('smox runs a user tool', () => {
  it('streams tokens, prints metrics, advances the state', async () => {
    expect((await smox(['set', 'model_path', 'base'], cwd, env)).code).toBe(0);
    const r = await smox(['demo/write', '--words', '3', '--text', 'hey'], cwd, env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hey hey hey \nwords: 3\n');
    const state = JSON.parse(fs.readFileSync(path.join(cwd, '.smolbox', 'state.json'), 'utf8'));
    expect(state.model_path).toMatch(/^\.smolbox[/\\]/);
    expect(historyLines(cwd).at(-1)).toMatchObject({ name: 'demo/write', status: 'ok', args: { words: 3, text: 'hey' } });
  });

  it('--json prints one JSON object per event', async () => {
    await smox(['set', 'model_path', 'base'], cwd, env);
    const r = await smox(['demo/write', '--json', '--words', '2'], cwd, env);
    expect(r.code).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.map((e) => e.type)).toEqual(['token', 'token', 'result']);
    expect(events[2].result.metrics).toEqual({ words: 2 });
  });
});

describe('Ctrl-C', () => {
  it('cancels the running tool: exit 130, a cancelled record, the state as it was', async () => {
    const child = spawn(process.execPath, [cliPath, 'demo/wait'], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      if (String(d).includes('waiting')) child.kill('SIGINT');
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    expect(stderr).toContain('smox: error: demo/wait: cancelled');
    expect(historyLines(cwd).at(-1)).toMatchObject({ name: 'demo/wait', status: 'cancelled' });
    expect(fs.existsSync(path.join(cwd, '.smolbox', 'state.json'))).toBe(false);
  });
});

describe('the smox executable', () => {
  it('leaves quietly when the reader of its output has gone (`smox history | head -1`)', async () => {
    await smox(['set', 'model_path', 'base'], cwd, env);
    await smox(['set', 'dataset_path', 'data.txt'], cwd, env);
    for (const args of [['history'], ['ls'], ['--help'], ['demo/write', '--words', '2000']]) {
      const child = spawn(process.execPath, [cliPath, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      // Closed before smox writes a byte, as `head` closes it after its first line.
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect({ args, code, stderr }).toEqual({ args, code: 0, stderr: '' });
    }
  });

  it("starts node with the allocator settings training relies on (the shebang's GLIBC_TUNABLES)", () => {
    const shebang = fs.readFileSync(cliPath, 'utf8').split('\n')[0];
    expect(shebang).toBe(`#!/usr/bin/env -S GLIBC_TUNABLES=${GLIBC_MALLOC_TUNABLES}:\${GLIBC_TUNABLES} node`);
  });

  /** GLIBC_TUNABLES as a tool sees it when cli.js is executed directly (the user's value given). */
  async function tunablesSeenByATool(users: string | undefined): Promise<string> {
    const { GLIBC_TUNABLES: _, ...rest } = { ...process.env, ...env };
    // Executed directly, as the npm bin link and replayed scripts run it (not `node cli.js`).
    const child = spawn(cliPath, ['demo/env', '--name', 'GLIBC_TUNABLES'], { cwd, env: users === undefined ? rest : { ...rest, GLIBC_TUNABLES: users }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    return stdout.trim();
  }

  it.runIf(process.platform === 'linux')('run as a program, its process has them in its environment', async () => {
    expect(allocatorTuned({ GLIBC_TUNABLES: await tunablesSeenByATool(undefined) })).toBe(true);
    expect(allocatorTuned({ GLIBC_TUNABLES: await tunablesSeenByATool('') })).toBe(true);
    expect(allocatorTuned({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })).toBe(false);
  });

  it.runIf(process.platform === 'linux')("keeps the user's own GLIBC_TUNABLES after its settings, so theirs win", async () => {
    const seen = await tunablesSeenByATool('glibc.malloc.arena_max=2');
    expect(seen).toBe(`${GLIBC_MALLOC_TUNABLES}:glibc.malloc.arena_max=2`);
    // What bench:train relaunches itself with is composed the same way.
    expect(tunedGlibcTunables({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })).toBe(seen);
    expect(allocatorTuned({ GLIBC_TUNABLES: seen })).toBe(true);
  });
});

describe('state on disk', () => {
  it('reads a state.json written by the Python smolbox', async () => {
    fs.mkdirSync(path.join(cwd, '.smolbox'));
    const python = {
      created_at: '2025-03-01T10:00:00.123456',
      dataset_path: 'karpathy/tiny_shakespeare',
      model_path: '.smolbox/0b6f5a7e-1f7a-4a55-9a43-2d2f9c4c1a11',
      output_dataset_path: null,
      output_model_path: null,
      updated_at: '2025-03-01T10:05:00.654321',
    };
    // Python's json.dump(state, f, indent=4, sort_keys=True)
    fs.writeFileSync(path.join(cwd, '.smolbox', 'state.json'), JSON.stringify(python, null, 4));
    const r = await smox(['state'], cwd);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject(python);
    const g = await smox(['get', 'dataset_path'], cwd);
    expect(g.stdout.trim()).toBe('karpathy/tiny_shakespeare');
  });

  it('50 parallel `smox set` leave valid JSON and 50 history lines', async () => {
    const runs = await Promise.all(Array.from({ length: 50 }, (_, i) => smox(['set', 'model_path', `m${i}`], cwd)));
    expect(runs.map((r) => r.code)).toEqual(Array(50).fill(0));
    const state = JSON.parse(fs.readFileSync(path.join(cwd, '.smolbox', 'state.json'), 'utf8'));
    expect(state.model_path).toMatch(/^m\d+$/);
    const sets = historyLines(cwd).filter((r) => r.name === 'set');
    expect(sets).toHaveLength(50);
    expect(new Set(sets.map((r) => JSON.stringify(r.args))).size).toBe(50);
  });
});

describe('export-script', () => {
  it('replays the session in a fresh directory: same steps, same output hashes', async () => {
    const steps = [
      ['init'],
      ['set', 'model_path', 'base'],
      ['demo/write', '--words', '2', '--text', 'thou shall haveth'],
      ['demo/write', '--words', '3'],
      ['set', 'dataset_path', 'builtin:tiny_shakespeare'],
      ['demo/write', '--seed', '11'],
    ];
    for (const s of steps) expect((await smox(s, cwd, env)).code, s.join(' ')).toBe(0);
    const script = path.join(cwd, 'replay.sh');
    expect((await smox(['export-script', script], cwd, env)).code).toBe(0);
    const text = fs.readFileSync(script, 'utf8');
    expect(text).toContain('set -euo pipefail');
    expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);

    const bin = tmp('smox-bin-');
    fs.symlinkSync(cliPath, path.join(bin, 'smox'));
    const fresh = tmp('smox-replay-');
    const r = spawnSync('bash', [script], {
      cwd: fresh,
      env: { ...process.env, ...env, PATH: `${bin}${path.delimiter}${process.env.PATH}` },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);

    const summary = (dir: string) =>
      historyLines(dir).map((h) => ({
        kind: h.kind, name: h.name, status: h.status,
        ...(h.kind === 'tool' ? { words: h.args.words, text: h.args.text, seed: h.args.seed, outputs: h.outputs } : { args: h.args }),
      }));
    expect(summary(fresh)).toEqual(summary(cwd));
  });
});

describe('cold start', () => {
  it('state, get, set, ls and --help load neither react, ink nor onnxruntime', async () => {
    const hookDir = tmp('smox-hook-');
    const log = path.join(hookDir, 'heavy.log');
    fs.writeFileSync(
      path.join(hookDir, 'hooks.mjs'),
      `import fs from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (/node_modules[\\\\/](react|ink|onnxruntime-node)[\\\\/]/.test(r.url)) fs.appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}\n`,
    );
    fs.writeFileSync(
      path.join(hookDir, 'register.mjs'),
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(path.join(hookDir, 'hooks.mjs')).href)});\n`,
    );
    const nodeOptions = `--import ${pathToFileURL(path.join(hookDir, 'register.mjs')).href}`;
    for (const args of [['state'], ['get', 'model_path'], ['set', 'model_path', 'x'], ['ls'], ['--help']]) {
      const r = await smox(args, cwd, { NODE_OPTIONS: nodeOptions });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    expect(fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '').toBe('');
    // The hook does see heavy modules when they are loaded.
    spawnSync(process.execPath, ['--input-type=module', '-e', "await import('react')"], {
      cwd: path.dirname(cliPath), env: { ...process.env, NODE_OPTIONS: nodeOptions },
    });
    expect(fs.readFileSync(log, 'utf8')).toMatch(/react/);
  });
});
