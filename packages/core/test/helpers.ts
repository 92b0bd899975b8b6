import {
  createIntegrationEventBus,
  type DistributedLock,
  type HeraldOptions,
  InProcessBroker,
  InProcessTransport,
  type IntegrationEventBusBuilder,
  type Logger,
  MemoryLock,
  type memoryEventLog,
  silentLogger,
} from '../src/index.js';

/** Options small enough for tests to see retries and dead letters quickly. */
export const fastOptions: Partial<HeraldOptions> = {
  localRetryTimes: 2,
  localFailedRetryInterval: 5,
  maxRetryTimes: 2,
  failedRetryInterval: 20,
  retryBackoff: () => 20,
  minimumRetryInterval: 500,
  pollingInterval: 50,
  handlerTimeout: 200,
};

/** A builder on its own in-process broker with fast options. */
export function testBuilder(service: string, broker = new InProcessBroker()): IntegrationEventBusBuilder {
  return createIntegrationEventBus({ service, logger: silentLogger })
    .useTransport(new InProcessTransport({ broker }))
    .configure(fastOptions);
}

/** Resolves when `predicate` holds, polling every 5 ms; rejects after `timeoutMs`. */
export async function eventually(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('Condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A memory lock whose keys starting with `prefix` were taken over by a newer
 * holder before this replica's first lease: `preempt(key)` runs once, before
 * the first acquisition, and should make the store see a newer token (e.g. a
 * claim fenced with token 3, so this replica's tokens 1 and 2 are stale).
 * `tokens` are the fencing tokens this replica got for those keys.
 */
export function preemptedLock(
  prefix: string,
  preempt: (key: string) => Promise<unknown>,
): { lock: DistributedLock; tokens: bigint[] } {
  const memoryLock = new MemoryLock();
  const tokens: bigint[] = [];
  const lock: DistributedLock = {
    name: 'memory-observed',
    async acquire(key, ttlMs) {
      const watched = key.startsWith(prefix);
      if (watched && tokens.length === 0) await preempt(key);
      const lease = await memoryLock.acquire(key, ttlMs);
      if (lease && watched) tokens.push(lease.fencingToken);
      return lease;
    },
  };
  return { lock, tokens };
}

/**
 * A {@link preemptedLock} on `log`'s outbox or inbox lock keys (`herald:outbox:` or
 * `herald:inbox:`), preempted by a newer holder's claim fenced with token 3 on the key: this
 * replica's tokens 1 and 2 are stale, its third is current.
 */
export function lockTakenByNewerHolder(
  log: ReturnType<typeof memoryEventLog>,
  store: 'outbox' | 'inbox',
): { lock: DistributedLock; tokens: bigint[] } {
  return preemptedLock(`herald:${store}:`, (key) => {
    const claim = {
      limit: 0,
      leaseMs: 1,
      owner: 'newer-holder',
      now: new Date(),
      fence: { lock: key, token: 3n },
    };
    return store === 'outbox' ? log.outbox.claim(claim) : log.inbox.claimDue(claim);
  });
}

/** A logger that keeps its warnings as `message: error`. */
export function warningLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = {
    ...silentLogger,
    warn: (message: string, context?: Record<string, unknown>) =>
      void warnings.push(`${message}: ${String(context?.error)}`),
  };
  return { logger, warnings };
}
