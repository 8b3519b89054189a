/**
 * `smox reset`: remove `.smolbox/` altogether — state, history and every output in it. It
 * leaves no history record: there is no `.smolbox/` left to hold one, and writing one would
 * recreate it.
 */
import fs from 'node:fs';
import { defineCommand } from '../src/core/command.js';
import { resetState, stateDir } from '../src/core/state.js';
import { UserError } from '../src/core/tool.js';
import { refuseWhileRunning } from '../src/core/output-lock.js';

export default defineCommand({
  summary: 'remove .smolbox/',
  usage: 'smox reset',
  async run(ctx) {
    if (ctx.argv.length > 0) throw new UserError(`reset takes no arguments (got "${ctx.argv[0]}"); usage: smox reset`);
    refuseWhileRunning(ctx.cwd, 'reset');
    const dir = stateDir(ctx.cwd);
    const existed = fs.existsSync(dir);
    await resetState(ctx.cwd);
    if (ctx.json) ctx.out(JSON.stringify({ type: 'result', removed: existed ? dir : null }));
    else ctx.out(existed ? `removed ${dir}` : `nothing to reset: no ${dir}`);
    return 0;
  },
});
