import {
  defaultOptions,
  type HeraldOptions,
  type InProcessBroker,
  type IntegrationEventBusBuilder,
  type Logger,
  type Serializer,
} from '@herald/core';
import type { ChaosOptions } from '../chaos/options.js';

/** Options of `createTestHarness`. */
export interface TestHarnessOptions {
  /** Faults to inject (see {@link ChaosOptions}). Off by default. */
  chaos?: ChaosOptions;
  /**
   * Bus options applied to every builder last, over the harness defaults
   * ({@link HARNESS_DEFAULTS}) and over what the builders configured.
   */
  options?: Partial<HeraldOptions>;
  /** The in-process broker the harness's transports share; default a new one. */
  broker?: InProcessBroker;
  /** A logger for every bus (e.g. `silentLogger` to keep chaos noise out of test output). */
  logger?: Logger;
  /** Decodes payloads of published messages for assertions; default JSON (what core uses by default). */
  serializer?: Serializer;
  /** Default timeout of `drain()`; default 10 s. */
  drainTimeoutMs?: number;
}

/**
 * Short intervals so retries, lease expiry and polling happen within a test.
 * They replace only options a builder left at core's defaults.
 */
export const HARNESS_DEFAULTS: Readonly<Partial<HeraldOptions>> = Object.freeze({
  pollingInterval: 20,
  localFailedRetryInterval: 5,
  failedRetryInterval: 50,
  minimumRetryInterval: 500,
  distributedLockWaitDuration: 50,
});

/**
 * Applies the harness defaults to options still at core's defaults, then the
 * caller's `overrides`. Keeps `minimumRetryInterval` above the local retry
 * budget, which core validates.
 */
export function applyHarnessOptions(
  builder: IntegrationEventBusBuilder,
  overrides: Partial<HeraldOptions> = {},
): void {
  const coreDefaults = defaultOptions();
  builder.configure((options) => {
    const target = options as unknown as Record<string, unknown>;
    const defaults = coreDefaults as unknown as Record<string, unknown>;
    let changedMinimum = false;
    for (const [key, value] of Object.entries(HARNESS_DEFAULTS)) {
      if (target[key] === defaults[key]) {
        target[key] = value;
        if (key === 'minimumRetryInterval') changedMinimum = true;
      }
    }
    Object.assign(options, overrides);
    const budget = options.localRetryTimes * options.localFailedRetryInterval;
    if (
      changedMinimum &&
      overrides.minimumRetryInterval === undefined &&
      options.minimumRetryInterval <= budget
    ) {
      options.minimumRetryInterval = budget + 100;
    }
  });
}
