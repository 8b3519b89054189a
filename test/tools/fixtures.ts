/** Small real models on disk for the tool tests: random weights, a character tokenizer. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect } from 'vitest';
import type { ToolEvent } from '../../src/core/events.js';
import { Random } from '../../src/core/random.js';
import { Engine } from '../../src/engine/engine.js';
import { runTool, type RunToolOutcome } from '../../src/engine/run-tool.js';
import { writeCheckpoint } from '../../src/models/checkpoint.js';
import { resolveArchitecture } from '../../src/models/index.js';
import { charTokenizerFiles } from '../../src/models/tokenizer.js';

export const ALPHABET = ' \nabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.,:;!?\'-';

export const TINY_GPT2 = {
  model_type: 'gpt2', n_positions: 64, n_embd: 32, n_layer: 2, n_head: 4,
  activation_function: 'gelu_new', layer_norm_epsilon: 1e-5,
};

/** Writes config.json + tokenizer files only (what the reinitializer starts from). */
export function writeConfigDir(dir: string, config: Record<string, unknown> = TINY_GPT2): void {
  const { tokenizerJson, tokenizerConfig } = charTokenizerFiles(ALPHABET);
  const vocab = Object.keys((tokenizerJson.model as { vocab: object }).vocab).length;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, vocab_size: vocab }));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
}

/** A complete model directory with weights drawn wider than init (std 0.3) so outputs vary. */
export function writeTinyModel(dir: string, config: Record<string, unknown> = TINY_GPT2, seed = 7): void {
  const cfgDir = `${dir}.cfg`;
  writeConfigDir(cfgDir, config);
  const raw = JSON.parse(fs.readFileSync(path.join(cfgDir, 'config.json'), 'utf8'));
  const { arch, cfg } = resolveArchitecture(raw);
  const rng = new Random(seed);
  const weights = arch.init(cfg, rng);
  for (const t of weights.values()) for (let i = 0; i < t.data.length; i++) t.data[i] += rng.normal(0, 0.3);
  writeCheckpoint(dir, { config: raw, weights, dir: cfgDir, tokenizerFiles: ['tokenizer.json', 'tokenizer_config.json'] });
  fs.rmSync(cfgDir, { recursive: true });
}

/** Runs a tool in-process and collects its events. */
export async function run(cwd: string, engine: Engine, line: string[], json = false): Promise<RunToolOutcome & { events: ToolEvent[] }> {
  const events: ToolEvent[] = [];
  const [name, ...argv] = line;
  const out = await runTool(name, argv, { cwd, sink: (e) => events.push(e), engine, json });
  return { ...out, events };
}

/**
 * A test file's scratch directory and one-thread engine, both gone after its tests; `step`
 * runs a tool line that must succeed (with `json` as the CLI's --json) and returns its data.
 */
export function toolWorkspace(prefix: string, json = false) {
  const engine = new Engine({ threads: 1 });
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(async () => {
    await engine.release();
    fs.rmSync(cwd, { recursive: true, force: true });
  });
  const step = async (line: string[]): Promise<Record<string, unknown>> => {
    const r = await run(cwd, engine, line, json);
    expect(r.ok, r.error).toBe(true);
    return (r.result?.data ?? {}) as Record<string, unknown>;
  };
  return { engine, cwd, step };
}

export function tokensOf(events: ToolEvent[]): string {
  return events.map((e) => (e.type === 'token' ? e.text : '')).join('');
}

/** Chat-template special tokens a chat test model's tokenizer holds as added tokens. */
export const CHAT_SPECIALS = ['<|im_start|>', '<|im_end|>', '<s>', '</s>', '<|user|>', '<|system|>', '<|assistant|>', '<|endoftext|>'];
const CHAT_ALPHABET = `\n${Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('')}`;

/** SmolLM2's ChatML template (a default system message when none is given). */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/**
 * A tiny GPT-2 in `dir` whose character tokenizer (printable ASCII and newline) has the chat
 * special tokens as added tokens, `</s>` as EOS and `template` as its chat template, in
 * tokenizer_config.json or in chat_template.jinja (`where`). `config` overrides TINY_GPT2.
 */
export function writeChatModel(dir: string, template: string, opts: { where?: 'config' | 'file'; config?: Record<string, unknown>; seed?: number } = {}): string {
  const { tokenizerJson } = charTokenizerFiles(CHAT_ALPHABET);
  const vocab = (tokenizerJson.model as { vocab: Record<string, number> }).vocab;
  const base = Object.keys(vocab).length;
  tokenizerJson.added_tokens = CHAT_SPECIALS.map((content, i) => ({ id: base + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const tokenizerConfig: Record<string, unknown> = { tokenizer_class: 'PreTrainedTokenizerFast', bos_token: '<s>', eos_token: '</s>', clean_up_tokenization_spaces: false };
  if (opts.where !== 'file') tokenizerConfig.chat_template = template;
  const src = `${dir}.src`;
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(path.join(src, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  fs.writeFileSync(path.join(src, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
  const files = ['tokenizer.json', 'tokenizer_config.json'];
  if (opts.where === 'file') {
    fs.writeFileSync(path.join(src, 'chat_template.jinja'), template);
    files.push('chat_template.jinja');
  }
  const config = { ...TINY_GPT2, ...opts.config, vocab_size: base + CHAT_SPECIALS.length };
  const { arch, cfg } = resolveArchitecture(config);
  writeCheckpoint(dir, { config, weights: arch.init(cfg, new Random(opts.seed ?? 1)), dir: src, tokenizerFiles: files });
  fs.rmSync(src, { recursive: true });
  return dir;
}
