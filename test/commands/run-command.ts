/** Runs a command module's default export in a directory and collects what it prints. */
import type { CommandDefinition } from '../../src/core/command.js';

export async function runCommand(def: CommandDefinition, cwd: string, argv: string[] = [], json = false): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await def.run({ cwd, argv, json, out: (line) => lines.push(line) });
  return { code, lines };
}
