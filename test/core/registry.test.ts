import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commandNames,
  findTool,
  listToolEntries,
  listTools,
  loadAllTools,
  loadTool,
  userToolDirs,
  validateTool,
} from '../../src/core/registry.js';
import { UserError } from '../../src/core/tool.js';

const BUILTINS = [
  'eval/perplexity',
  'infer/sampler',
  'infer/tweaker',
  'io/exporter',
  'io/importer',
  'train/finetuner',
  'transform/editor',
  'transform/pruner',
  'transform/quantizer',
  'transform/reinitializer',
];

const userTool = (summary: string) => `export default {
  summary: ${JSON.stringify(summary)},
  args: { words: { kind: 'integer', default: 3, help: 'how many', min: 1 } },
  async run(ctx, args) { return { metrics: { words: args.words } }; },
};\n`;

let dirA: string;
let dirB: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  dirA = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-tools-a-'));
  dirB = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-tools-b-'));
  fs.writeFileSync(path.join(dirA, 'hello.mjs'), userTool('say hello'));
  fs.mkdirSync(path.join(dirA, 'text'));
  fs.writeFileSync(path.join(dirA, 'text', 'count.js'), userTool('count words'));
  fs.writeFileSync(path.join(dirA, 'notes.txt'), 'not a tool');
  // dirB repeats a name (first directory wins) and shadows a built-in (built-in wins).
  fs.writeFileSync(path.join(dirB, 'hello.mjs'), userTool('another hello'));
  fs.mkdirSync(path.join(dirB, 'infer'));
  fs.writeFileSync(path.join(dirB, 'infer', 'sampler.mjs'), userTool('impostor'));
  fs.writeFileSync(path.join(dirB, 'broken.mjs'), 'export default { summary: "no run", args: {} };\n');
  fs.writeFileSync(path.join(dirB, 'throws.mjs'), 'throw new Error("boom at import");\n');
  env = { SMOLBOX_TOOLS_PATH: [dirA, '', dirB].join(path.delimiter) };
});

afterAll(() => {
  fs.rmSync(dirA, { recursive: true, force: true });
  fs.rmSync(dirB, { recursive: true, force: true });
});

describe('built-in tools', () => {
  it('are discovered from tools/<category>/<name> with no hand-kept list', () => {
    const entries = listToolEntries({});
    expect(entries.map((t) => t.name).sort()).toEqual(BUILTINS);
    expect(entries.every((t) => t.origin === 'builtin')).toBe(true);
    expect(entries.find((t) => t.name === 'infer/sampler')?.category).toBe('infer');
  });

  it('import with valid definitions', async () => {
    const tools = await listTools({});
    expect(tools).toHaveLength(BUILTINS.length);
    for (const t of tools) expect(t.def.summary.length).toBeGreaterThan(10);
  });
});

describe('user tools from SMOLBOX_TOOLS_PATH', () => {
  it('splits the path on the platform delimiter, skipping empty parts', () => {
    expect(userToolDirs(env)).toEqual([dirA, dirB]);
    expect(userToolDirs({})).toEqual([]);
  });

  it('names files by folder/file or by file, first directory wins, built-ins are not shadowed', () => {
    const entries = listToolEntries(env).filter((t) => t.origin === 'user');
    expect(entries.map((t) => [t.name, t.category])).toEqual([
      ['hello', 'user'],
      ['text/count', 'text'],
      ['broken', 'user'],
      ['throws', 'user'],
    ]);
    expect(entries[0].file).toBe(path.join(dirA, 'hello.mjs'));
    expect(findTool('infer/sampler', env)?.origin).toBe('builtin');
  });

  it('loads a user tool and runs it', async () => {
    const t = await loadTool('text/count', env);
    expect(t.def.summary).toBe('count words');
    const ctx = {} as Parameters<typeof t.def.run>[0];
    expect(await t.def.run(ctx, { words: 5 })).toEqual({ metrics: { words: 5 } });
  });

  it('refuses a module that is not a tool, naming the file', async () => {
    await expect(loadTool('broken', env)).rejects.toThrow(`tool ${path.join(dirB, 'broken.mjs')}: has no run function`);
    await expect(loadTool('throws', env)).rejects.toThrow(/throws\.mjs failed to load: boom at import/);
  });
});

describe('loadTool', () => {
  it('accepts a unique bare name', async () => {
    expect((await loadTool('sampler', {})).name).toBe('infer/sampler');
    expect(findTool('nothing', {})).toBeUndefined();
  });

  it('says "did you mean" for a near miss and points at smox ls', async () => {
    const err = await loadTool('infer/smapler', {}).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(
      'unknown tool or command "infer/smapler"; did you mean infer/sampler? (smox ls lists the tools, smox --help the commands)',
    );
  });
});

describe('validateTool', () => {
  const ok = { summary: 's', args: {}, run: async () => ({}) };
  it('accepts the defineTool shape', () => {
    expect(validateTool(ok, 'f.mjs')).toBe(ok);
  });
  it.each([
    [null, 'has no default export object'],
    [{ ...ok, summary: '' }, 'has no summary string'],
    [{ ...ok, args: undefined }, 'has no args object'],
    [{ ...ok, args: { x: { kind: 'float' } } }, 'argument "x" has no valid kind'],
    [{ ...ok, args: { x: { kind: 'choice', default: 'a' } } }, 'choice argument "x" has no choices'],
  ])('refuses %j', (def, why) => {
    expect(() => validateTool(def, 'f.mjs')).toThrow(`tool f.mjs: ${why}`);
  });
});

describe('commands', () => {
  it('are the files in commands/', () => {
    const names = commandNames();
    const onDisk = fs.readdirSync(new URL('../../commands/', import.meta.url)).filter((f) => f.endsWith('.ts'));
    expect(names.sort()).toEqual(onDisk.map((f) => f.replace(/\.ts$/, '')).sort());
  });
});

describe('loadAllTools', () => {
  it('loads what works and names what does not', async () => {
    const { tools, errors } = await loadAllTools(env);
    expect(tools.map((t) => t.name)).toContain('text/count');
    expect(tools.map((t) => t.name)).toContain('infer/sampler');
    expect(errors).toHaveLength(2);
    expect(errors.join('\n')).toMatch(/broken\.mjs: has no run function/);
    expect(errors.join('\n')).toMatch(/throws\.mjs failed to load/);
  });
});
