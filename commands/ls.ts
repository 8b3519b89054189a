/**
 * `smox ls`: the tools by category with one-line summaries, user tools included.
 * Imports the tool modules (cheap by contract) but never runs one.
 */
import { defineCommand } from '../src/core/command.js';
import { toolList } from '../src/core/help.js';
import { loadAllTools, userToolDirs } from '../src/core/registry.js';

export default defineCommand({
  summary: 'list the tools by category, with one-line summaries',
  usage: 'smox ls',
  async run(ctx) {
    const { tools, errors } = await loadAllTools();
    if (ctx.json) {
      for (const t of tools) ctx.out(JSON.stringify({ name: t.name, category: t.category, summary: t.def.summary, origin: t.origin }));
      for (const e of errors) ctx.out(JSON.stringify({ error: e }));
      return 0;
    }
    for (const line of toolList(tools.map((t) => ({ name: t.name, category: t.category, summary: t.def.summary, origin: t.origin })))) {
      ctx.out(line);
    }
    for (const e of errors) ctx.out(`warning: ${e}`);
    if (userToolDirs().length === 0) ctx.out('\n(user tools: put .js/.mjs files in a directory listed in SMOLBOX_TOOLS_PATH)');
    return 0;
  },
});
