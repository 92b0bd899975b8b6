import { defineConfig } from 'vitest/config';

/**
 * Shared Vitest settings for every package. Tests talk to real engines, so the
 * timeouts are generous and files run one at a time per package to keep a
 * 2-core machine from thrashing. The JSON report feeds the closing
 * "N passed, N failed" line of `npm test`.
 */
export const sharedTestConfig = defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '.herald-test-results.json' }]],
    passWithNoTests: false,
  },
});
