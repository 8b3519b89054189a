/**
 * `smox export-script [file]`: the history as a bash script that replays the session (see
 * src/core/replay.ts for what is left out and why). Without a file it goes to stdout; a file
 * is made executable.
 */
import fs from 'node:fs';
import path from 'node:path';
import { defineCommand } from '../src/core/command.js';
import { readHistory } from '../src/core/history.js';
import { exportScript, formatArgs, toolSchemas } from '../src/core/replay.js';
import { UserError } from '../src/core/tool.js';

const USAGE = 'smox export-script [file]';

export default defineCommand({
  summary: 'write the history as a bash script that replays the session',
  usage: USAGE,
  async run(ctx) {
    if (ctx.argv.length > 1) throw new UserError(`export-script takes at most one file; usage: ${USAGE}`);
    const records = readHistory(ctx.cwd);
    if (!records.some((r) => r.status === 'ok' && r.name !== 'python-state')) {
      throw new UserError('nothing to export: the history has no successful step yet; run a tool or `smox set` first');
    }
    const schemas = await toolSchemas(records);
    const script = exportScript(records, (r) => formatArgs(r.args), { schemaOf: (name) => schemas.get(name) });
    const [file] = ctx.argv;
    if (file === undefined) {
      ctx.out(script.trimEnd());
      return 0;
    }
    const target = path.resolve(ctx.cwd, file);
    try {
      fs.writeFileSync(target, script, { mode: 0o755 });
      fs.chmodSync(target, 0o755); // mode applies only to a file the write created
    } catch (err) {
      throw new UserError(`cannot write ${file}: ${(err as Error).message}`);
    }
    ctx.out(ctx.json ? JSON.stringify({ type: 'result', file: target }) : `wrote ${file}`);
    return 0;
  },
});
