import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listCommands, listTools } from '../../src/core/registry.js';

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
});
