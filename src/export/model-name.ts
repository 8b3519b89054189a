/**
 * A model's name for formats that carry one (GGUF's `general.name`): what the model is called,
 * never the `.smolbox/<uuid>` it happens to sit in, so two replays export the same bytes.
 * In order: config.json's `_name_or_path`, the nearest hub id or builtin name in its lineage
 * (smolbox.json: the model it was made from, then that model's origin, …), the directory's
 * own name (a hub snapshot's repository id), and last its model_type.
 */
import path from 'node:path';
import { BUILTIN_PREFIX } from '../models/source.js';

/** A smolbox output directory's name: it says where, not what. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The hub cache keeps a repository's files in `models--owner--name/snapshots/<commit>`. */
const HUB_SNAPSHOT = /(?:^|[/\\])models--([^/\\]+)[/\\]snapshots[/\\][^/\\]+[/\\]?$/;

export interface NamedModel {
  dir: string;
  config: Record<string, unknown>;
  /** smolbox.json (without the ownership marker), when present. */
  provenance?: { parent?: unknown; ancestors?: { parent?: unknown }[] };
}

/** What a path or id names: a builtin's name, a hub repository, a directory's base name; null for a uuid. */
function nameOf(spec: string): string | null {
  if (spec.startsWith(BUILTIN_PREFIX)) return spec.slice(BUILTIN_PREFIX.length) || null;
  const snapshot = HUB_SNAPSHOT.exec(spec);
  if (snapshot) return snapshot[1].replace('--', '/');
  // A hub id (`gpt2`, `owner/name`) is its own name; a path is named by its last part.
  const pathLike = /^[.~/\\]|^[A-Za-z]:|\\/.test(spec) || spec.split('/').length > 2;
  const name = pathLike ? path.basename(spec.replace(/[/\\]+$/, '')) : spec;
  return name && !UUID.test(name) && name !== '.' && name !== '..' ? name : null;
}

export function modelName(model: NamedModel): string {
  const candidates: unknown[] = [model.config._name_or_path];
  const prov = model.provenance;
  if (prov) candidates.push(prov.parent, ...[...(prov.ancestors ?? [])].reverse().map((a) => a.parent));
  for (const c of candidates) {
    const name = typeof c === 'string' && c !== '' ? nameOf(c) : null;
    if (name) return name;
  }
  return nameOf(model.dir) ?? String(model.config.model_type ?? 'model');
}
