// tsc does not set the executable bit; the bins must be runnable straight from dist/.
import { chmodSync } from 'node:fs';
chmodSync(new URL('../dist/src/cli.js', import.meta.url), 0o755);
