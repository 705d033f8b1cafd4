import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // tfjs keeps one global engine per process; files run in separate forks so backends and
    // tensor counts never leak between them.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The JSON report is what .ci/run counts for its closing "N passed, N failed" line; the same
    // reporter then closes the run with why tests were skipped (a missing redis-server), never silently.
    reporters: ['default', './test/support/json-and-skip-reasons-reporter.ts'],
    outputFile: { json: '.test-output/vitest.json' },
  },
});
