/**
 * The architecture contract: each family is one file under src/models/ named as its
 * model_type, and nothing outside it knows the family. Adding a file and its registry line is
 * all a new family takes, so these checks run over the registry, not a hand-kept list.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { architectureFor, SUPPORTED_MODEL_TYPES } from '../../src/models/index.js';
import { TINY_CONFIGS } from './tiny.js';

const root = path.resolve(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

describe('architecture contract', () => {
  it('every registered model_type has its own file under src/models/ and a tiny test config', () => {
    for (const type of SUPPORTED_MODEL_TYPES) {
      expect(fs.existsSync(path.join(root, 'src', 'models', `${type}.ts`)), type).toBe(true);
      expect(Object.values(TINY_CONFIGS).some((c) => c.model_type === type), `TINY_CONFIGS lacks ${type}`).toBe(true);
    }
  });

  it('no file outside the family files names a model_type or branches on one', () => {
    const familyFiles = new Set(SUPPORTED_MODEL_TYPES.map((t) => `src/models/${t}.ts`));
    const literal = new RegExp(`['"](${SUPPORTED_MODEL_TYPES.join('|')})['"]`);
    const offenders: string[] = [];
    for (const file of [...sourceFiles('src'), ...sourceFiles('tools'), ...sourceFiles('commands')]) {
      if (familyFiles.has(file) || file === 'src/models/index.ts') continue;
      // llama.cpp's tokenizer models and pre-tokenizers (gpt2, llama, qwen2) name tokenizers, not architectures.
      if (file === 'src/export/gguf-tokenizer.ts') continue;
      fs.readFileSync(path.join(root, file), 'utf8').split('\n').forEach((line, i) => {
        if (literal.test(line) || /model_?[tT]ype\s*[!=]==\s*['"]/.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it('a family\'s helper file (src/models/<model_type>-*.ts) is imported only by family files', () => {
    const family = new RegExp(`^src/models/(${SUPPORTED_MODEL_TYPES.join('|')})(-[\\w-]+)?\\.ts$`);
    const helperImport = new RegExp(`from '(?:\\.\\./)*(?:\\./|models/)(${SUPPORTED_MODEL_TYPES.join('|')})-[\\w-]+\\.js'`);
    const offenders: string[] = [];
    for (const file of [...sourceFiles('src'), ...sourceFiles('tools'), ...sourceFiles('commands')]) {
      if (family.test(file)) continue;
      fs.readFileSync(path.join(root, file), 'utf8').split('\n').forEach((line, i) => {
        if (helperImport.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
    expect(sourceFiles('src/models').filter((f) => family.test(f) && f.includes('-')).length, 'helper files exist to check').toBeGreaterThan(0);
  });

  for (const [label, raw] of Object.entries(TINY_CONFIGS)) {
    it(`${label}: every parameter has a role that fits its shape; fused parts add up`, () => {
      const arch = architectureFor(raw);
      const cfg = arch.normalizeConfig(raw);
      const params = arch.parameters(cfg);
      expect(new Set(params.map((p) => p.name)).size).toBe(params.length);
      for (const p of params) {
        const matrix = ['token_embedding', 'position_embedding', 'head', 'attention', 'mlp'].includes(p.role);
        expect(p.shape.length === 2, `${p.name} (${p.role}) has shape [${p.shape}]`).toBe(matrix);
        if (p.layout) expect(['attention', 'mlp']).toContain(p.role);
        if (p.parts) {
          const out = p.layout === 'in_out' ? p.shape[1] : p.shape[0];
          expect(p.parts.reduce((a, b) => a + b.size, 0), p.name).toBe(out);
        }
      }
      expect(params.filter((p) => p.role === 'token_embedding')).toHaveLength(1);
      expect(params.some((p) => p.role === 'head')).toBe(!cfg.tieWordEmbeddings);
    });

    it(`${label}: a config re-made as every other family keeps its sizes`, async () => {
      const { reshapeConfig } = await import('../../src/models/config-edit.js');
      const cur = architectureFor(raw).normalizeConfig(raw);
      for (const type of SUPPORTED_MODEL_TYPES) {
        const arch = architectureFor({ model_type: type });
        let cfg;
        try {
          cfg = arch.normalizeConfig(reshapeConfig(raw, { modelType: type }));
        } catch (e) {
          // A family without grouped-query attention cannot take a GQA config as it is.
          expect(String(e)).toMatch(/num_kv_heads|key\/value heads/);
          expect(cur.numKvHeads).not.toBe(cur.numHeads);
          continue;
        }
        expect(cfg.modelType).toBe(type);
        expect([cfg.numLayers, cfg.hiddenSize, cfg.numHeads, cfg.vocabSize]).toEqual([cur.numLayers, cur.hiddenSize, cur.numHeads, cur.vocabSize]);
      }
    });
  }
});
