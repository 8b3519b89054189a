/**
 * The internal-command contract. A command module (`commands/<name>.ts`) default-exports
 * `defineCommand({...})`; the CLI finds it by file name and imports it only when asked, so a
 * command must not import React, Ink or onnxruntime (cold start).
 */

/** What a command gets to work with. */
export interface CommandContext {
  /** The directory holding (or to hold) `.smolbox/`. */
  cwd: string;
  /** The words after the command name. */
  argv: string[];
  /** `--json` was given: print machine-readable lines where the command has something to say. */
  json: boolean;
  /** Prints one line to stdout. */
  out: (line: string) => void;
  /** The terminal's width when stdout is one; tables fit it. */
  columns?: number;
}

export interface CommandDefinition {
  /** One line for `smox --help`. */
  summary: string;
  /** `smox <name> <args…>`, shown by `--help` and in usage errors. */
  usage: string;
  /** Runs the command; resolves to the exit code. Throws UserError for usage mistakes. */
  run(ctx: CommandContext): Promise<number>;
}

/** Identity at run time; types the object literal. */
export function defineCommand(def: CommandDefinition): CommandDefinition {
  return def;
}
