/**
 * Whether dist/ must be (re)built: the built CLI is missing, or older than a TypeScript source
 * or the compiler settings. `npm start` (scripts/start.mjs) and the tests that spawn the built
 * CLI both ask, so a change to any source — .tsx included — is never run stale.
 */
import fs from 'node:fs';
import path from 'node:path';

/** What tsconfig.json compiles. */
export const SOURCE_DIRS = ['src', 'tools', 'commands', 'bench'];
/** Files besides the sources whose change changes the build. */
const SETTINGS = ['tsconfig.json'];
const SOURCE_FILE = /\.(ts|tsx|mts|cts)$/;

/** The built entry point, relative to the package root. */
export const BUILT_CLI = path.join('dist', 'src', 'cli.js');

function newestIn(dir) {
  let newest = 0;
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0; // a source directory a checkout does not have
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestIn(full));
    else if (SOURCE_FILE.test(e.name)) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** The newest modification time (ms) among the sources and settings under `root`. */
export function newestSource(root) {
  let newest = Math.max(...SOURCE_DIRS.map((d) => newestIn(path.join(root, d))));
  for (const f of SETTINGS) {
    try {
      newest = Math.max(newest, fs.statSync(path.join(root, f)).mtimeMs);
    } catch {
      // no such settings file: nothing to compare
    }
  }
  return newest;
}

/** True when `root`'s dist/ is missing or older than its sources. */
export function needsBuild(root) {
  let built;
  try {
    built = fs.statSync(path.join(root, BUILT_CLI)).mtimeMs;
  } catch {
    return true;
  }
  return newestSource(root) > built;
}
