/**
 * `smox state`: print `.smolbox/state.json` as the file holds it (pretty, sorted keys),
 * creating a fresh one first when there is none, as the Python smolbox does. Already JSON,
 * so `--json` changes nothing.
 */
import { defineCommand } from '../src/core/command.js';
import { formatState, loadOrCreateState } from '../src/core/state.js';
import { UserError } from '../src/core/tool.js';

export default defineCommand({
  summary: 'print .smolbox/state.json',
  usage: 'smox state',
  async run(ctx) {
    if (ctx.argv.length > 0) throw new UserError(`state takes no arguments (got "${ctx.argv[0]}"); usage: smox state`);
    ctx.out(formatState(await loadOrCreateState(ctx.cwd)).trimEnd());
    return 0;
  },
});
