// Preloaded (node --import) into a spawned smox by kill9.test.ts: SIGKILLs the process itself
// just before its N-th disk-changing call, a real kill -9 at a point the test chooses.
// SMOLBOX_KILL_AT=<n> kills before call n; SMOLBOX_KILL_TRACE=<file> appends each call's name.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const at = Number(process.env.SMOLBOX_KILL_AT ?? Infinity);
const trace = process.env.SMOLBOX_KILL_TRACE;
const OPS = ['writeSync', 'writeFileSync', 'appendFileSync', 'copyFileSync', 'renameSync', 'mkdirSync', 'rmSync', 'rmdirSync', 'linkSync', 'unlinkSync'];
let n = 0;
// fs's own functions call each other (appendFileSync → writeFileSync → writeSync): count the outer one.
let inside = false;
const append = fs.appendFileSync;
for (const op of OPS) {
  const real = fs[op];
  fs[op] = function (...args) {
    if (inside) return real.apply(this, args);
    if (++n >= at) process.kill(process.pid, 'SIGKILL');
    inside = true;
    try {
      if (trace) append(trace, `${op} ${typeof args[0] === 'string' ? args[0] : ''}\n`);
      return real.apply(this, args);
    } finally {
      inside = false;
    }
  };
}
// Named imports (import { renameSync } from 'node:fs') see the wrappers too.
syncBuiltinESMExports();
