import type { InProcessBroker, IntegrationEventBus } from '@herald/core';
import { sleep, within } from '../internal/wait.js';

/** Options of `harness.drain()`. */
export interface DrainOptions {
  /** Rejects after this long; default the harness's `drainTimeoutMs` (10 s). */
  timeoutMs?: number;
  /**
   * Also wait for failed outbox records and inbox entries scheduled for a
   * later retry (until they succeed or are dead-lettered), and for delayed
   * publishes not yet due (until they are sent). Default false: like
   * `bus.drain()`, scheduled work does not count.
   */
  includeScheduledRetries?: boolean;
}

/** Why the system is not idle yet, or undefined when it is. */
async function pendingWork(
  buses: readonly IntegrationEventBus[],
  brokers: readonly InProcessBroker[],
  includeScheduledRetries: boolean,
): Promise<string | undefined> {
  for (const broker of brokers) {
    if (broker.pending > 0) return `${broker.pending} in-process deliveries are queued`;
  }
  for (const bus of buses) {
    for (const config of bus.eventLogs) {
      // A record whose send was not marked stays pending until its lease expires and the relay sends it again.
      const pending = config.outbox ? await config.outbox.list({ status: 'pending', limit: 10_000 }) : [];
      const now = Date.now();
      if (pending.some((record) => (record.nextAttemptAt?.getTime() ?? 0) <= now)) {
        return `outbox "${config.name}" of ${bus.service} has pending records`;
      }
      if (!includeScheduledRetries) continue;
      if (pending.length > 0) {
        return `outbox "${config.name}" of ${bus.service} has delayed records not due yet`;
      }
      if (config.outbox && (await config.outbox.list({ status: 'failed', limit: 1 })).length > 0) {
        return `outbox "${config.name}" of ${bus.service} has records waiting for a retry`;
      }
      if (config.inbox && (await config.inbox.list({ status: 'failed', limit: 1 })).length > 0) {
        return `inbox "${config.name}" of ${bus.service} has handlings waiting for a retry`;
      }
    }
  }
  return undefined;
}

/**
 * Waits until every bus is drained (`bus.drain()`: outbox, consumers and
 * inbox retries idle), every shared broker is idle and no outbox record is
 * still pending — twice in a row, because one bus's handler can publish
 * work for another.
 */
export async function drainAll(
  buses: readonly IntegrationEventBus[],
  brokers: readonly InProcessBroker[],
  options: Required<DrainOptions>,
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let quietRounds = 0;
  let reason = 'the buses were still busy';
  while (quietRounds < 2) {
    const remaining = deadline - Date.now();
    if (remaining <= 0)
      throw new Error(`The harness did not become idle within ${options.timeoutMs} ms: ${reason}`);
    await Promise.all(buses.map((bus) => bus.drain({ timeoutMs: remaining }))).catch((error: unknown) => {
      const detail = error instanceof Error ? error.message : String(error);
      throw new Error(`The harness did not become idle within ${options.timeoutMs} ms: ${detail}`, {
        cause: error,
      });
    });
    await within(
      Promise.all(brokers.map((broker) => broker.whenIdle())),
      Math.max(1, deadline - Date.now()),
      `the in-process broker did not become idle within ${options.timeoutMs} ms`,
    );
    const busy = await pendingWork(buses, brokers, options.includeScheduledRetries);
    if (busy === undefined) {
      quietRounds++;
      continue;
    }
    reason = busy;
    quietRounds = 0;
    await sleep(10);
  }
}
