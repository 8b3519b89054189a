/**
 * `loadTextDataset`: a dataset spec as the user types it (a file, a directory, `builtin:<name>`
 * or a hub id `owner/name`) → the documents of each split. Resolution to a local path is
 * src/models/source.ts's job (the hub download is imported lazily there).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Emitter } from '../core/events.js';
import { UserError } from '../core/tool.js';
import { resolveDatasetSource } from '../models/source.js';
import { openDataFile } from './readers.js';
import { assignSplits, listDataFiles, SPLIT_NAMES, type SplitName } from './splits.js';
import { chooseTextColumn, shortPath } from './table.js';

/** The documents of a dataset, split as the dataset itself splits them. */
export interface TextDataset {
  /** The spec it was loaded from, e.g. `builtin:tiny_shakespeare` or `data/poems.jsonl`. */
  name: string;
  /** One string per document (a whole .txt file, a JSON/CSV/parquet row); empty ones left out. */
  splits: { train: string[]; validation?: string[]; test?: string[] };
  /** The files read, per split, absolute paths. */
  files: Partial<Record<SplitName, string[]>>;
  /** The column the documents came from (`text` for .txt files). */
  textColumn: string;
}

export interface LoadDatasetOptions {
  /** Base for relative paths. */
  cwd: string;
  /** Column holding the documents (default: `text`, else the only string column). */
  textColumn?: string | null;
  signal?: AbortSignal;
  emit?: Emitter;
  /** Hub revision for hub datasets (e.g. `refs/convert/parquet`). */
  revision?: string;
}

/** Read a dataset's documents. Throws a UserError for anything the user can fix. */
export async function loadTextDataset(spec: string, opts: LoadDatasetOptions): Promise<TextDataset> {
  const local = await resolveDatasetSource(spec, { cwd: opts.cwd, emit: opts.emit, signal: opts.signal, revision: opts.revision });
  const name = spec.trim();
  let files: Partial<Record<SplitName, string[]>>;
  if (fs.statSync(local).isDirectory()) {
    const all = listDataFiles(local);
    if (!all.length) throw new UserError(`${shortPath(local)} holds no dataset files (.txt, .jsonl, .json, .csv, .tsv, .parquet)`);
    const assigned = assignSplits(local, all);
    files = assigned.splits;
    if (assigned.ignored.length) {
      opts.emit?.log(`${name}: left out ${assigned.ignored.map((f) => path.relative(local, f)).join(', ')} (names no split beside files that do)`, 'warn');
    }
    if (!files.train) {
      const found = SPLIT_NAMES.filter((s) => files[s]).join(', ');
      throw new UserError(`${name} has no train split (found ${found}); name a file or folder "train"`);
    }
  } else {
    files = { train: [local] };
  }

  const splits: Partial<Record<SplitName, string[]>> = {};
  let textColumn: string | undefined;
  for (const split of SPLIT_NAMES) {
    const list = files[split];
    if (!list) continue;
    const docs: string[] = [];
    for (const file of list) {
      opts.signal?.throwIfAborted();
      const data = await openDataFile(file);
      const column = chooseTextColumn(data, opts.textColumn);
      textColumn ??= column;
      for (const doc of await data.readColumn(column, opts.signal)) {
        if (doc.length) docs.push(doc);
      }
    }
    splits[split] = docs;
  }

  if (!splits.train?.some((d) => d.trim().length)) {
    const where = files.train!.length === 1 ? shortPath(files.train![0]) : `the train split of ${name}`;
    throw new UserError(`${where} holds no text: the dataset is empty`);
  }
  return {
    name,
    splits: { train: splits.train, ...(splits.validation?.length ? { validation: splits.validation } : {}), ...(splits.test?.length ? { test: splits.test } : {}) },
    files,
    textColumn: textColumn ?? 'text',
  };
}
