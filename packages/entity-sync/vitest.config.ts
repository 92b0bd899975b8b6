import { configDefaults, defineConfig, mergeConfig } from 'vitest/config';
import { sharedTestConfig } from '../../tooling/vitest.shared.ts';

/** The shared settings, without test/live.test.ts: it needs a real replica set (`pnpm test:live`). */
export default mergeConfig(
  sharedTestConfig,
  defineConfig({ test: { exclude: [...configDefaults.exclude, 'test/live.test.ts'] } }),
);
