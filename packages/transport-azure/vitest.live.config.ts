import { defineConfig } from 'vitest/config';

/**
 * `pnpm test:live`: the conformance suite against a real Azure Service Bus namespace.
 * Needs AZURE_SERVICEBUS_CONNECTION_STRING (with Manage rights: the run creates a topic
 * and its subscriptions through the administration API, and deletes the topic afterwards).
 */
export default defineConfig({
  test: {
    include: ['test/live.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ['default'],
    passWithNoTests: false,
  },
});
