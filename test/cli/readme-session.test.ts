/**
 * The README's session, as written there, through the real CLI: every line runs, top to bottom,
 * in an empty directory; its `smox export-script replay.sh` then replays from another empty
 * directory, and the replay's history records the same output hashes (and the GGUF export is
 * the same bytes). The lines are read from README.md itself, so the two cannot drift apart.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readHistory } from '../../src/core/history.js';
import { splitCommandLine } from '../../src/core/parse-args.js';
import { cliPath, ensureBuilt, repoRoot, smox } from './built-cli.js';

/** The `smox …` lines of the first bash block under "## A session", comments dropped. */
function sessionLines(): string[] {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const section = readme.split('\n## A session\n')[1]?.split('\n## ')[0] ?? '';
  const block = /```bash\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block.split('\n').filter((l) => l.startsWith('smox ')).map((l) => l.replace(/\s+#.*$/, ''));
}

/** Tool steps that made outputs, in order: name and output hashes. */
function outputs(cwd: string): { name: string; outputs: Record<string, string> }[] {
  return readHistory(cwd).filter((r) => r.status === 'ok' && r.outputs).map((r) => ({ name: r.name, outputs: r.outputs! }));
}

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

describe('the README session', () => {
  beforeAll(() => ensureBuilt());

  it('runs as written, and its exported script replays it to the same output hashes', async () => {
    const lines = sessionLines();
    expect(lines[0]).toBe('smox init');
    expect(lines.at(-1)).toBe('smox export-script replay.sh');

    const original = tmp('smox-readme-');
    for (const line of lines) {
      const r = await smox(splitCommandLine(line).slice(1), original);
      expect(r.code, `${line}\n${r.stderr}`).toBe(0);
    }
    const made = outputs(original);
    expect(made.map((s) => s.name)).toEqual(['transform/reinitializer', 'train/finetuner', 'transform/quantizer']);

    // The script calls `smox` by name, as it would on a PATH set up as the README says.
    const bin = tmp('smox-bin-');
    fs.symlinkSync(cliPath, path.join(bin, 'smox'));
    const replay = tmp('smox-replay-');
    const r = spawnSync('bash', [path.join(original, 'replay.sh')], {
      cwd: replay,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, NO_COLOR: '1' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(outputs(replay)).toEqual(made);
    const gguf = (cwd: string) => fs.readFileSync(path.join(cwd, 'export_model.gguf'));
    expect(gguf(replay).equals(gguf(original))).toBe(true);
  }, 600_000);
});
