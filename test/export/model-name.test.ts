import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readGguf } from '../../src/export/gguf-format.js';
import { modelName } from '../../src/export/model-name.js';
import { Engine } from '../../src/engine/engine.js';
import { run, writeTinyModel } from '../tools/fixtures.js';

const UUID_DIR = path.join(os.tmpdir(), '.smolbox', '0b3c1a2e-5f6d-4e7a-8b9c-0d1e2f3a4b5c');
const config = { model_type: 'gpt2' };

describe('modelName', () => {
  it('takes config.json’s _name_or_path first', () => {
    expect(modelName({ dir: UUID_DIR, config: { ...config, _name_or_path: 'HuggingFaceTB/SmolLM2-135M' }, provenance: { parent: 'builtin:x' } })).toBe('HuggingFaceTB/SmolLM2-135M');
    expect(modelName({ dir: UUID_DIR, config: { ...config, _name_or_path: '/home/me/checkpoints/my-model/' } })).toBe('my-model');
  });

  it('then the nearest hub id or builtin name in the lineage, past .smolbox/<uuid> parents', () => {
    const provenance = {
      parent: '.smolbox/11111111-2222-4333-8444-555555555555',
      ancestors: [
        { parent: 'gpt2' },
        { parent: 'builtin:shakespeare-char' },
        { parent: '/tmp/run/.smolbox/aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee' },
      ],
    };
    expect(modelName({ dir: UUID_DIR, config, provenance })).toBe('shakespeare-char');
    expect(modelName({ dir: UUID_DIR, config, provenance: { ...provenance, ancestors: provenance.ancestors.slice(0, 1) } })).toBe('gpt2');
  });

  it('then the directory’s name unless it is a uuid (a hub snapshot by its repository), then the model_type', () => {
    expect(modelName({ dir: '/models/tiny-stories', config })).toBe('tiny-stories');
    expect(modelName({ dir: '/cache/hub/models--openai-community--gpt2/snapshots/607a30d783dfa663caf39e06633721c8d4cfcd7e', config })).toBe('openai-community/gpt2');
    expect(modelName({ dir: UUID_DIR, config, provenance: { parent: null, ancestors: [] } })).toBe('gpt2');
  });
});

describe('GGUF general.name of an exported model', () => {
  const engine = new Engine({ threads: 1 });
  afterAll(() => engine.release());

  it('names the model it was made from, not its .smolbox/<uuid>', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-model-name-'));
    writeTinyModel(path.join(cwd, 'tiny'));
    const pruned = await run(cwd, engine, ['transform/pruner', '--model-path', 'tiny']);
    expect(pruned.ok, pruned.error).toBe(true);
    const exported = await run(cwd, engine, ['io/exporter', '--export-format', 'gguf', '--export-model-path', 'out']);
    expect(exported.ok, exported.error).toBe(true);
    expect(readGguf(fs.readFileSync(path.join(cwd, 'out.gguf'))).metadata.get('general.name')).toBe('tiny');
  });
});
