/**
 * Which directories smolbox may replace whole. A model directory (or a directory export) is
 * swapped in as a unit, so whatever sat at the target goes; that is right only when smolbox
 * wrote it. Two checks, both needed: `smolbox.json` carries the marker below (a stray
 * `config.json` says nothing about who owns the directory), and the directory holds nothing
 * but what such a directory holds — what transformers' `save_pretrained` writes, smolbox's
 * provenance and training state, and the exporter's formats. Anything else (notes, a
 * `.smolbox/`, a dataset) means a person put it there, and we refuse.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/tool.js';

/** The smolbox.json key that says "smolbox wrote this directory", and the layout version. */
export const OWNER_KEY = 'smolbox_format';
export const OWNER_FORMAT = 1;

/** Top-level files: save_pretrained's config, weights (single, sharded, safetensors or bin), tokenizer, chat template. */
const TOP_FILES = [
  /^(config|generation_config|smolbox)\.json$/,
  /^model(-\d{5}-of-\d{5})?\.safetensors$/,
  /^model\.safetensors\.index\.json$/,
  /^pytorch_model(-\d{5}-of-\d{5})?\.bin$/,
  /^pytorch_model\.bin\.index\.json$/,
  /^(tokenizer|tokenizer_config|special_tokens_map|added_tokens|vocab|chat_template)\.json$/,
  /^(merges|vocab)\.txt$/,
  /^tokenizer\.model$/,
  /^chat_template\.jinja$/,
];
/** Subdirectories and what each may hold: the finetuner's resume state, the onnx export (transformers.js names its variants model_*.onnx). */
const SUBDIRS: Record<string, RegExp[]> = {
  training_state: [/^optimizer\.safetensors$/, /^trainer_state\.json$/],
  onnx: [/^model(_\w+)?\.onnx(_data)?$/],
};
/** Temp names our own atomic writers use (atomic-write.ts): debris of a killed write, ours to replace. */
const OUR_TEMP = /^\.[^/\\]+\.(tmp|old)-\d+-[0-9a-f]{8}$/;

/** What an existing `smolbox.json` says about ownership. */
function ownedBySmolbox(dir: string): boolean {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(path.join(dir, 'smolbox.json'), 'utf8'));
  } catch {
    return false;
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) return false;
  const p = json as Record<string, unknown>;
  if (p[OWNER_KEY] === OWNER_FORMAT) return true;
  // Versions before the marker wrote provenance with these two fields and nothing at top level
  // that a person would add; their outputs stay replaceable by a re-run.
  return typeof p.tool === 'string' && typeof p.created_at === 'string' && 'args' in p;
}

/** The first entry under `dir` that a smolbox model directory would not hold, if any. */
function foreignEntry(dir: string): string | undefined {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const name = entry.name;
    if (OUR_TEMP.test(name)) continue;
    if (entry.isFile() && TOP_FILES.some((re) => re.test(name))) continue;
    const allowed = entry.isDirectory() ? SUBDIRS[name] : undefined;
    if (allowed) {
      const inner = fs.readdirSync(path.join(dir, name), { withFileTypes: true })
        .find((e) => !OUR_TEMP.test(e.name) && !(e.isFile() && allowed.some((re) => re.test(e.name))));
      if (!inner) continue;
      return `${name}/${inner.name}`;
    }
    return entry.isDirectory() ? `${name}/` : name;
  }
  return undefined;
}

/**
 * Whether `target` may be replaced by a directory smolbox writes: 'absent' or 'empty' (nothing
 * to lose), 'owned' (smolbox wrote it and nothing else is in it). Otherwise a one-line UserError
 * naming the path; `flag` is the argument the user can change (e.g. `--output_model_path`).
 */
export function checkReplaceable(target: string, flag?: string): 'absent' | 'empty' | 'owned' {
  const elsewhere = flag ? `pass another ${flag}` : 'choose a new or empty directory';
  let st: fs.Stats;
  try {
    st = fs.statSync(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw e;
  }
  if (!st.isDirectory()) throw new UserError(`cannot write a model to ${target}: it is a file; ${elsewhere} (a directory path)`);
  if (fs.readdirSync(target).length === 0) return 'empty';
  if (!ownedBySmolbox(target)) {
    throw new UserError(`refusing to replace ${target}: smolbox did not write it (no smolbox.json of its own); ${elsewhere}, or empty it yourself`);
  }
  const foreign = foreignEntry(target);
  if (foreign) {
    throw new UserError(`refusing to replace ${target}: it holds ${foreign}, which is not part of a model directory; ${elsewhere}, or move ${foreign} out`);
  }
  return 'owned';
}
