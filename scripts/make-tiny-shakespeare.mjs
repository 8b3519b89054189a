// Builds assets/datasets/tiny_shakespeare/{train,validation,test}.txt from the public-domain
// tiny_shakespeare text: the first 90 % of its characters, the next 5 %, the last 5 %.
// Each cut moves to the nearest newline (ties go earlier) and falls just after it, so every
// split starts at the beginning of a line and no line is shared. Usage:
//   node scripts/make-tiny-shakespeare.mjs [source.txt]   (default ../shared/data/tiny_shakespeare.txt)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = resolve(process.argv[2] ?? join(root, '..', 'shared', 'data', 'tiny_shakespeare.txt'));
const text = readFileSync(source, 'utf8');

/** The index just after the newline nearest to `target`. */
function cutNear(target) {
  const before = text.lastIndexOf('\n', target - 1);
  const after = text.indexOf('\n', target);
  if (before < 0 && after < 0) throw new Error('the text has no newline to cut at');
  if (after < 0 || (before >= 0 && target - (before + 1) <= after + 1 - target)) return before + 1;
  return after + 1;
}

const cut1 = cutNear(Math.round(text.length * 0.9));
const cut2 = cutNear(Math.round(text.length * 0.95));
const splits = { train: text.slice(0, cut1), validation: text.slice(cut1, cut2), test: text.slice(cut2) };

const out = join(root, 'assets', 'datasets', 'tiny_shakespeare');
mkdirSync(out, { recursive: true });
for (const [name, body] of Object.entries(splits)) {
  writeFileSync(join(out, `${name}.txt`), body);
  console.log(`${name}.txt: ${body.length} characters`);
}
