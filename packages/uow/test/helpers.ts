import {
  createIntegrationEventBus,
  type HeraldOptions,
  InProcessBroker,
  InProcessTransport,
  type IntegrationEventBus,
  type IntegrationEventBusBuilder,
  type Logger,
  type OutboxStore,
  silentLogger,
  sleep,
} from '@herald/core';
import { afterEach } from 'vitest';

/** Options small enough for tests to see retries quickly. */
export const fastOptions: Partial<HeraldOptions> = {
  localRetryTimes: 1,
  localFailedRetryInterval: 5,
  maxRetryTimes: 1,
  failedRetryInterval: 20,
  retryBackoff: () => 20,
  minimumRetryInterval: 500,
  pollingInterval: 50,
  handlerTimeout: 1_000,
};

/** A builder on the given in-process broker with fast options. */
export function testBuilder(
  service: string,
  broker: InProcessBroker = new InProcessBroker(),
): IntegrationEventBusBuilder {
  return createIntegrationEventBus({ service, logger: silentLogger })
    .useTransport(new InProcessTransport({ broker }))
    .configure(fastOptions);
}

const running: IntegrationEventBus[] = [];

/** Starts buses and stops them after the current test. */
export async function started(...buses: IntegrationEventBus[]): Promise<void> {
  running.push(...buses);
  for (const bus of buses) await bus.start();
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((bus) => bus.stop()));
});

/** A logger that keeps what it was told. */
export function recordingLogger(): Logger & {
  entries: Array<{ level: string; message: string; context?: Record<string, unknown> }>;
} {
  const entries: Array<{ level: string; message: string; context?: Record<string, unknown> }> = [];
  const at = (level: string) => (message: string, context?: Record<string, unknown>) => {
    entries.push({ level, message, ...(context ? { context } : {}) });
  };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Resolves with `promise`, or rejects after `ms` with `message`. */
export function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A promise with its resolve function, e.g. "the handler ran". */
export function signal<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * The same outbox without its own "records committed" wake-ups, like a store
 * on an engine without notifications: only the bus's own signals (the unit of
 * work's afterCommit) or polling can wake the relay.
 */
export function withoutWakeUps(outbox: OutboxStore): OutboxStore {
  return new Proxy(outbox, {
    get(target, property) {
      if (property === 'onWake') return undefined;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The same outbox, recording every `add` call (with its `tx`) as it happens. */
export function spyingOutbox(outbox: OutboxStore): {
  outbox: OutboxStore;
  adds: Array<{ ids: string[]; tx: unknown }>;
} {
  const adds: Array<{ ids: string[]; tx: unknown }> = [];
  const spied = new Proxy(outbox, {
    get(target, property) {
      if (property === 'add') {
        return (messages: Parameters<OutboxStore['add']>[0], tx?: unknown) => {
          adds.push({ ids: messages.map((m) => m.message.id), tx });
          return target.add(messages, tx);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { outbox: spied, adds };
}

/** Core's `sleep`, re-exported for the tests. */
export { sleep };
