import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Transpile tests with the same class-field semantics as tsc (target ES2022); a string here
  // stops Vite from walking the project-reference tsconfigs, which it cannot follow.
  oxc: { tsconfig: false, target: 'es2022' },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // tfjs keeps one global engine per process; files run in separate forks so backends and
    // tensor counts never leak between them.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
