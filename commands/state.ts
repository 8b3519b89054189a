/**
 * `smox state`: print `.smolbox/state.json` as the file holds it (pretty, sorted keys), or
 * the fresh state a first step would start from when there is none. Unlike the Python
 * smolbox it writes nothing: looking must not leave a `.smolbox/` in every directory looked
 * at. Already JSON, so `--json` changes nothing.
 */
import { defineCommand } from '../src/core/command.js';
import { formatState, freshState, readState } from '../src/core/state.js';
import { UserError } from '../src/core/tool.js';

export default defineCommand({
  summary: 'print .smolbox/state.json',
  usage: 'smox state',
  async run(ctx) {
    if (ctx.argv.length > 0) throw new UserError(`state takes no arguments (got "${ctx.argv[0]}"); usage: smox state`);
    ctx.out(formatState(readState(ctx.cwd) ?? freshState()).trimEnd());
    return 0;
  },
});
