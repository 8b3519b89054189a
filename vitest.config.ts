import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // ORT sessions and spawned CLIs are slow on 2 cores; tests assert behaviour, not speed.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Prints the fault-injection suites' counts (test/faults) as one line at the end.
    globalSetup: ['test/faults/summary.ts'],
  },
});
