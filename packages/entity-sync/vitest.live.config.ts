import { defineConfig } from 'vitest/config';

/**
 * `pnpm test:live`: test/live.test.ts against a real MongoDB replica set named by
 * MONGODB_URL (multi-document transactions and atomic conditional updates, which FerretDB 1.24
 * does not have). Kept out of `pnpm test`, so it is never reported as skipped, and out of the
 * JSON report the root script sums.
 */
export default defineConfig({
  test: {
    include: ['test/live.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    reporters: ['default'],
    passWithNoTests: false,
  },
});
