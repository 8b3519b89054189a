/**
 * `smox init`: clear and recreate `.smolbox/` (outputs, state and history), as the Python
 * smolbox does. The new history starts with this step, so an exported script begins with
 * `smox init` and replays from a clean directory.
 */
import { defineCommand } from '../src/core/command.js';
import { recordInit } from '../src/core/history.js';
import { readState, stateDir } from '../src/core/state.js';
import { UserError } from '../src/core/tool.js';
import { refuseWhileRunning } from '../src/core/output-lock.js';

export default defineCommand({
  summary: 'clear and recreate .smolbox/',
  usage: 'smox init',
  async run(ctx) {
    if (ctx.argv.length > 0) throw new UserError(`init takes no arguments (got "${ctx.argv[0]}"); usage: smox init`);
    refuseWhileRunning(ctx.cwd, 'init');
    const started = Date.now();
    let before = null;
    try {
      before = readState(ctx.cwd);
    } catch {
      // A corrupt state is exactly what init is for.
    }
    const state = await recordInit(ctx.cwd, {
      time: new Date(started).toISOString(), kind: 'command', name: 'init', args: {}, status: 'ok', duration_ms: Date.now() - started,
    }, before);
    ctx.out(ctx.json ? JSON.stringify({ type: 'result', state }) : `initialised ${stateDir(ctx.cwd)}`);
    return 0;
  },
});
