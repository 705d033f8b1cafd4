import { defineConfig } from 'vitest/config';
import SweepsFirst from './test/support/sweeps-first.js';

// The sweep scenarios (several training processes each, asserting on the pacing a service saw) run
// one after another in one file, test/sweeps.test.ts, beside the other files: two of them at once
// on two cores squeezed a 1 s gap, one beside other files has not.
const sweepScenarios = ['test/sweep/**', 'examples/sweep/test/**', 'test/sweeps.test.ts'];

export default defineConfig({
  test: {
    // tfjs keeps one global engine per process; files run in separate forks so backends and
    // tensor counts never leak between them.
    pool: 'forks',
    // Most files wait on sockets and timers rather than the CPU: three at once keep both cores busy.
    maxWorkers: 3,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    sequence: { sequencer: SweepsFirst },
    // The JSON report is what .ci/run counts for its closing "N passed, N failed" line; the same
    // reporter then closes the run with why tests were skipped (a missing redis-server), never silently.
    reporters: ['default', './test/support/json-and-skip-reasons-reporter.ts'],
    outputFile: { json: '.test-output/vitest.json' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit and service',
          include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'docs/test/**/*.test.ts', 'test/**/*.test.ts'],
          // test/packaging (npm installs of the packed packages) is `pnpm test:packaging`, vitest.packaging.config.ts.
          exclude: [...sweepScenarios, 'test/packaging/**', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: { name: 'sweeps', include: ['test/sweeps.test.ts'] },
      },
    ],
  },
});
