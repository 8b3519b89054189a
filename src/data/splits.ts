/**
 * Which split each file of a dataset directory belongs to, the way Hugging Face `datasets`
 * infers it: a path component (directory or file name) that is, or contains as a separate
 * word, a split keyword. Covers `train.txt`, `train/0000.parquet`,
 * `default/validation/0000.parquet` (the hub's parquet conversion) and
 * `data/test-00000-of-00001.parquet` (the hub's upload layout).
 */
import fs from 'node:fs';
import path from 'node:path';
import { isDataFile } from './readers.js';

export type SplitName = 'train' | 'validation' | 'test';
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'validation', 'test'];

/** The keywords `datasets` recognises for each split (its `data_files.py`). */
const KEYWORDS: Record<SplitName, readonly string[]> = {
  train: ['train', 'training'],
  validation: ['validation', 'valid', 'dev', 'val'],
  test: ['test', 'testing', 'eval', 'evaluation'],
};

/** Data files under `dir`, recursively, sorted by relative path; hidden entries are skipped. */
export function listDataFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (at: string) => {
    const entries = fs.readdirSync(at, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = path.join(at, e.name);
      const isDir = e.isDirectory() || (e.isSymbolicLink() && fs.statSync(full).isDirectory());
      if (isDir) walk(full);
      else if (isDataFile(e.name)) out.push(full);
    }
  };
  walk(dir);
  return out;
}

/** The split a relative path names, judged from its deepest component that names one. */
export function splitOfPath(relPath: string): SplitName | undefined {
  const parts = relPath.split(/[\\/]/).reverse();
  for (const [i, part] of parts.entries()) {
    const stem = i === 0 ? part.replace(/\.[^.]*$/, '') : part;
    const words = stem.toLowerCase().split(/[-_. ]+/);
    for (const split of SPLIT_NAMES) {
      if (words.some((w) => KEYWORDS[split].includes(w))) return split;
    }
  }
  return undefined;
}

/** The files of each split, and the files that name no split when others do (left out). */
export interface SplitFiles {
  splits: Partial<Record<SplitName, string[]>>;
  ignored: string[];
}

/**
 * Assign a directory's data files to splits. When no file names a split, every file is
 * `train`; otherwise files that name none are left out, as `datasets` does.
 */
export function assignSplits(dir: string, files: readonly string[]): SplitFiles {
  const named = files.map((f) => ({ file: f, split: splitOfPath(path.relative(dir, f)) }));
  if (!named.some((n) => n.split)) return { splits: files.length ? { train: [...files] } : {}, ignored: [] };
  const splits: Partial<Record<SplitName, string[]>> = {};
  const ignored: string[] = [];
  for (const { file, split } of named) {
    if (split) (splits[split] ??= []).push(file);
    else ignored.push(file);
  }
  return { splits, ignored };
}
