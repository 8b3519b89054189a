/**
 * `smox config`: user preferences. `smox config` lists every key with its value and where it
 * comes from; `config get <key>`, `config set <key> <value>`, `config unset <key>`.
 */
import { defineCommand } from '../src/core/command.js';
import {
  CONFIG_SCHEMA, configPath, configSpec, parseConfigValue, readConfig, readStoredConfig, setConfig, unsetConfig,
} from '../src/core/config.js';
import { UserError } from '../src/core/tool.js';

const USAGE = 'smox config [get <key> | set <key> <value> | unset <key>]';

function expectArgs(argv: string[], n: number, form: string): void {
  if (argv.length !== n) throw new UserError(`usage: smox config ${form}`);
}

export default defineCommand({
  summary: 'show or change user preferences',
  usage: 'smox config',
  async run(ctx) {
    const [action, ...rest] = ctx.argv;
    switch (action) {
      case undefined: {
        const stored = readStoredConfig();
        const values = readConfig();
        if (ctx.json) {
          ctx.out(JSON.stringify(values));
          return 0;
        }
        const width = Math.max(...Object.keys(CONFIG_SCHEMA).map((k) => k.length));
        for (const [key, spec] of Object.entries(CONFIG_SCHEMA)) {
          const value = key in values ? String(values[key]) : '(unset)';
          const origin = key in stored ? '' : key in values ? ' (default)' : '';
          ctx.out(`${key.padEnd(width)}  ${value}${origin}  — ${spec.help}`);
        }
        ctx.out(`(file: ${configPath()})`);
        return 0;
      }
      case 'get': {
        expectArgs(rest, 1, 'get <key>');
        configSpec(rest[0]);
        const value = readConfig()[rest[0]];
        ctx.out(ctx.json ? JSON.stringify({ key: rest[0], value: value ?? null }) : value === undefined ? '' : String(value));
        return 0;
      }
      case 'set': {
        expectArgs(rest, 2, 'set <key> <value>');
        const value = parseConfigValue(rest[0], rest[1]);
        await setConfig(rest[0], value);
        ctx.out(ctx.json ? JSON.stringify({ type: 'result', key: rest[0], value }) : `${rest[0]} = ${value}`);
        return 0;
      }
      case 'unset': {
        expectArgs(rest, 1, 'unset <key>');
        await unsetConfig(rest[0]);
        const value = readConfig()[rest[0]];
        if (ctx.json) ctx.out(JSON.stringify({ type: 'result', key: rest[0], value: value ?? null }));
        else ctx.out(value === undefined ? `${rest[0]} unset` : `${rest[0]} unset (default ${value})`);
        return 0;
      }
      default:
        throw new UserError(`unknown config action "${action}"; usage: ${USAGE}`);
    }
  },
});
