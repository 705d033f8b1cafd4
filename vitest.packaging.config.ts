import { defineConfig } from 'vitest/config';

// `pnpm test:packaging`: the packages as a user gets them — packed, installed with plain npm into a
// project outside the workspace, and used there. Minutes of npm installs, so not part of `pnpm test`;
// .ci/run runs it after, and counts this JSON report with the main one.
export default defineConfig({
  test: {
    include: ['test/packaging/**/*.test.ts'],
    pool: 'forks',
    // npm installs from the registry: generous, the whole file takes about two minutes.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    reporters: ['default', './test/support/json-and-skip-reasons-reporter.ts'],
    outputFile: { json: '.test-output/vitest-packaging.json' },
  },
});
