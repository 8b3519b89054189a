import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseArgs, splitCommandLine } from '../../src/core/parse-args.js';
import { commandNames, listCommands, listTools } from '../../src/core/registry.js';

/** Rows of the markdown table under `## <heading>`: first cell (without backticks) → second. */
function table(readme: string, heading: string): Map<string, string> {
  const section = readme.split(`\n## ${heading}\n`)[1]?.split('\n## ')[0] ?? '';
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const m = /^\| `([^`]+)` \| (.+) \|$/.exec(line);
    if (m) rows.set(m[1], m[2]);
  }
  return rows;
}

const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README stays true to smox --help', () => {
  it('starts with the two set-up commands', () => {
    const firstScreen = readme.split('\n').slice(0, 20).join('\n');
    expect(firstScreen).toContain('npm ci && npm start');
    expect(firstScreen).toContain('npm ci && npm test');
  });

  it('lists every tool with its summary, and no other', async () => {
    const tools = await listTools({});
    const rows = table(readme, 'Tools');
    expect([...rows.keys()].sort()).toEqual(tools.map((t) => t.name).sort());
    for (const t of tools) expect(rows.get(t.name), t.name).toBe(t.def.summary);
  });

  it('lists every command with its usage and summary', async () => {
    const rows = table(readme, 'Commands');
    for (const { def } of await listCommands()) {
      expect(rows.get(def.usage), def.usage).toBe(def.summary);
    }
  });

  it('shows only smox lines that parse: every tool, command and flag in its examples exists', async () => {
    const tools = new Map((await listTools({})).map((t) => [t.name, t.def]));
    const blocks = [...readme.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]);
    const lines = blocks.flatMap((b) => b.split('\n')).filter((l) => l.startsWith('smox '));
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) {
      const [, name, ...argv] = splitCommandLine(line.replace(/\s+#.*$/, ''));
      if (name.includes('/')) {
        const def = tools.get(name);
        expect(def, line).toBeDefined();
        expect(() => parseArgs(def!, argv.filter((a) => a !== '--json')), line).not.toThrow();
      } else {
        expect(commandNames(), line).toContain(name);
      }
    }
  });
});
