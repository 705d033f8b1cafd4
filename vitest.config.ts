import { defineConfig } from 'vitest/config';

// The sweep tests each start several training processes (tfjs, a hub, a bot) and assert on the
// pacing of what a service received; next to other busy files on two cores their timers wake
// late and a 1 s gap can shrink below what the service allows. They run one at a time, after
// everything else, which runs in parallel.
const sweepTests = ['test/sweep/**/*.test.ts', 'examples/sweep/test/**/*.test.ts'];

export default defineConfig({
  test: {
    // tfjs keeps one global engine per process; files run in separate forks so backends and
    // tensor counts never leak between them.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The JSON report is what .ci/run counts for its closing "N passed, N failed" line; the same
    // reporter then closes the run with why tests were skipped (a missing redis-server), never silently.
    reporters: ['default', './test/support/json-and-skip-reasons-reporter.ts'],
    outputFile: { json: '.test-output/vitest.json' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit and service',
          include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...sweepTests, '**/node_modules/**'],
          // Most of these files wait on sockets and timers rather than the CPU: three at once
          // keep both cores busy.
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'sweeps',
          include: sweepTests,
          exclude: ['**/node_modules/**'],
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
