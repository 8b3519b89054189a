/**
 * `smox set <key> <value>`: set one of the four state keys by hand, recorded in the history
 * so an exported script replays it.
 */
import { defineCommand } from '../src/core/command.js';
import { recordCommand } from '../src/core/history.js';
import { stateKey } from '../src/core/state.js';
import { UserError } from '../src/core/tool.js';

const USAGE = 'smox set <key> <value>';

export default defineCommand({
  summary: 'set a state key',
  usage: USAGE,
  async run(ctx) {
    if (ctx.argv.length !== 2) throw new UserError(`set takes a key and a value; usage: ${USAGE}`);
    const key = stateKey(ctx.argv[0]);
    const value = ctx.argv[1];
    const record = await recordCommand(ctx.cwd, 'set', { key, value }, (s) => ({ ...s, [key]: value }));
    if (ctx.json) ctx.out(JSON.stringify({ type: 'result', key, value, previous: record.state_before?.[key] ?? null }));
    else ctx.out(`${key} = ${value}`);
    return 0;
  },
});
