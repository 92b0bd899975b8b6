import { sharedTestConfig } from '../../tooling/vitest.shared.ts';

export default sharedTestConfig;
