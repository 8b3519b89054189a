/**
 * On-disk cache of tokenised splits, so a dataset is tokenised once per tokenizer. The key is
 * a hash of the documents' content (not path + mtime: a copied or touched file still hits, an
 * edited one never does), the tokenizer's hash and the EOS id that joins documents. Block size
 * is not part of it: packing is a view over the token stream, so one entry serves every
 * `max_seq_length`.
 *
 * File layout: 8-byte magic `SMXTOK01`, uint32 LE token count, then int32 LE ids.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic-write.js';

const MAGIC = Buffer.from('SMXTOK01', 'latin1');
const HEADER = MAGIC.length + 4;

/** Where tokenised splits are cached, and what identifies the tokenizer. */
export interface TokenCacheOptions {
  /** A directory the caller owns, e.g. `.smolbox/cache/tokens` or the user cache dir. */
  dir: string;
  /** Any string that changes when the tokenizer's behaviour changes (e.g. sha256 of tokenizer.json). */
  tokenizerHash: string;
}

/** sha256 over the documents, each length-prefixed so ["ab","c"] and ["a","bc"] differ. */
export function hashDocuments(docs: readonly string[]): string {
  const h = crypto.createHash('sha256');
  const len = Buffer.alloc(8);
  for (const doc of docs) {
    const bytes = Buffer.from(doc, 'utf8');
    len.writeBigUInt64LE(BigInt(bytes.length));
    h.update(len);
    h.update(bytes);
  }
  return h.digest('hex');
}

/** The cache key of one tokenised split. */
export function tokenCacheKey(docsHash: string, tokenizerHash: string, eosTokenId: number | null): string {
  return crypto.createHash('sha256').update(JSON.stringify(['tokens/1', docsHash, tokenizerHash, eosTokenId])).digest('hex').slice(0, 40);
}

function entryPath(dir: string, key: string): string {
  return path.join(dir, `tokens-${key}.bin`);
}

/** The cached ids for `key`, or undefined when absent or unreadable (a bad entry is a miss, never an error). */
export function readCachedTokens(dir: string, key: string): Int32Array | undefined {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(entryPath(dir, key));
  } catch {
    return undefined;
  }
  if (bytes.length < HEADER || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const count = bytes.readUInt32LE(MAGIC.length);
  if (bytes.length !== HEADER + count * 4) return undefined;
  // Copy into a fresh, aligned buffer: the file buffer may be a slice at an odd offset.
  const ids = new Int32Array(count);
  Buffer.from(ids.buffer).set(bytes.subarray(HEADER));
  return ids;
}

/** Store ids under `key`; written to a temporary file and renamed, so readers never see half an entry. */
export function writeCachedTokens(dir: string, key: string, ids: Int32Array): void {
  fs.mkdirSync(dir, { recursive: true });
  const header = Buffer.alloc(HEADER);
  MAGIC.copy(header);
  header.writeUInt32LE(ids.length, MAGIC.length);
  writeFileAtomic(entryPath(dir, key), Buffer.concat([header, Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength)]));
}
