import { configDefaults, defineConfig, mergeConfig } from 'vitest/config';
import { sharedTestConfig } from '../../tooling/vitest.shared.ts';

// The live suite needs a real namespace: it runs only through `pnpm test:live` (vitest.live.config.ts),
// so the normal run has no skipped tests.
export default mergeConfig(
  sharedTestConfig,
  defineConfig({ test: { exclude: [...configDefaults.exclude, 'test/live.test.ts'] } }),
);
