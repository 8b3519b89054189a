/**
 * `smox get <key>`: print one state key's value, or an empty line when it is unset, so that
 * `$(smox get model_path)` works in scripts. Reads only: a missing state is an unset one.
 */
import { defineCommand } from '../src/core/command.js';
import { readState, stateKey } from '../src/core/state.js';
import { UserError } from '../src/core/tool.js';

const USAGE = 'smox get <key>';

export default defineCommand({
  summary: 'print one state key',
  usage: USAGE,
  async run(ctx) {
    if (ctx.argv.length !== 1) throw new UserError(`get takes one key; usage: ${USAGE}`);
    const key = stateKey(ctx.argv[0]);
    const value = readState(ctx.cwd)?.[key] ?? null;
    ctx.out(ctx.json ? JSON.stringify({ key, value }) : (value ?? ''));
    return 0;
  },
});
