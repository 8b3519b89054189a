import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commonPrefix, complete, type CompletionSources } from '../../src/core/completion.js';
import { listTools } from '../../src/core/registry.js';

let sources: CompletionSources;
let cwd: string;

beforeAll(async () => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-complete-'));
  fs.mkdirSync(path.join(cwd, 'models'));
  fs.mkdirSync(path.join(cwd, 'models', 'tiny'));
  fs.writeFileSync(path.join(cwd, 'models', 'notes.txt'), '');
  fs.writeFileSync(path.join(cwd, 'data.txt'), '');
  fs.writeFileSync(path.join(cwd, '.hidden'), '');
  sources = {
    tools: await listTools({}),
    commands: ['ls', 'init', 'reset', 'state', 'set', 'get', 'history', 'export-script', 'config'],
    cwd,
    models: () => ['builtin:shakespeare-char', 'gpt2'],
    datasets: () => ['builtin:tiny_shakespeare'],
    paramNames: () => ['transformer.h.0.attn.c_attn.weight', 'transformer.h.0.mlp.c_fc.weight'],
  };
});

afterAll(() => fs.rmSync(cwd, { recursive: true, force: true }));

const at = (line: string) => complete(line, line.length, sources);

describe('complete: names', () => {
  it('offers categories until a slash is typed', () => {
    expect(at('tr').candidates).toEqual(['train/', 'transform/']);
    expect(at('tr').common).toBe('tra');
    expect(at('').candidates).toContain('infer/');
    expect(at('').candidates).toContain('state');
  });

  it('opens a category that is the only match', () => {
    expect(at('inf').candidates).toEqual(['infer/sampler', 'infer/tweaker']);
    expect(at('transform/p').candidates).toEqual(['transform/pruner']);
  });

  it('completes commands', () => {
    expect(at('ex').candidates).toEqual(['export-script']);
    expect(at('s').candidates).toEqual(['set', 'state']);
  });
});

describe('complete: arguments', () => {
  it('completes flags of the tool, skipping ones already given', () => {
    const c = at('infer/sampler --top');
    expect(c.candidates).toEqual(['--top_k', '--top_p']);
    expect(c.start).toBe('infer/sampler '.length);
    expect(at('infer/sampler --top_k 5 --top').candidates).toEqual(['--top_p']);
    expect(at('infer/sampler --max-new').candidates).toEqual(['--max_new_tokens']);
  });

  it('completes choice values, after a space or an =', () => {
    expect(at('io/exporter --export_format g').candidates).toEqual(['gguf']);
    expect(at('io/exporter --export_format=o').candidates).toEqual(['--export_format=onnx']);
    expect(at('infer/sampler --do_sample ').candidates).toEqual(['false', 'true']);
    expect(at('transform/quantizer --layer_types Linear,E').candidates).toEqual(['Linear,Embedding']);
  });

  it('completes actions after the tool name', () => {
    expect(at('infer/tweaker ').candidates).toEqual(['list', 'run']);
    expect(at('tweaker l').candidates).toEqual(['list']);
  });

  it('completes models, datasets and parameter names from the sources', () => {
    expect(at('io/importer --model_path b').candidates).toEqual(['builtin:shakespeare-char']);
    expect(at('train/finetuner --dataset_path builtin').candidates).toEqual(['builtin:tiny_shakespeare']);
    expect(at('infer/tweaker --deltas transformer.h.0.m').candidates).toEqual(['transformer.h.0.mlp.c_fc.weight']);
  });

  it('completes paths, directories with a slash, dotfiles only when asked', () => {
    expect(at('io/importer --model_path mo').candidates).toEqual(['models/']);
    expect(at('io/importer --model_path models/').candidates).toEqual(['models/notes.txt', 'models/tiny/']);
    expect(at('io/exporter --export_model_path ').candidates).toEqual(['data.txt', 'models/']);
    expect(at('io/exporter --export_model_path .h').candidates).toEqual(['.hidden']);
  });

  it('completes state keys after set/get and paths after the key', () => {
    expect(at('get ').candidates).toEqual(['dataset_path', 'model_path', 'output_dataset_path', 'output_model_path']);
    expect(at('set out').candidates).toEqual(['output_dataset_path', 'output_model_path']);
    expect(at('set model_path d').candidates).toEqual(['data.txt']);
    expect(at('export-script m').candidates).toEqual(['models/']);
  });

  it('completes the tool or command after help, and nothing after that', () => {
    const withHelp = { ...sources, commands: [...sources.commands, 'help'] };
    const after = (line: string) => complete(line, line.length, withHelp).candidates;
    expect(after('help inf')).toEqual(['infer/sampler', 'infer/tweaker']);
    expect(after('help st')).toEqual(['state']);
    expect(after('help state ')).toEqual([]);
  });

  it('offers nothing for free text and unknown tools', () => {
    expect(at('infer/sampler --prompt ').candidates).toEqual([]);
    expect(at('nope/tool --x').candidates).toEqual([]);
  });

  it('completes at the cursor, not at the end of the line', () => {
    const line = 'infer/sampler --top --prompt hi';
    expect(complete(line, 'infer/sampler --top'.length, sources).candidates).toEqual(['--top_k', '--top_p']);
  });

  it('handles a quoted word', () => {
    expect(at('io/importer --model_path "mo').candidates).toEqual(['models/']);
  });
});

describe('commonPrefix', () => {
  it('is the shared start', () => {
    expect(commonPrefix(['abc', 'abd'])).toBe('ab');
    expect(commonPrefix([])).toBe('');
  });
});
