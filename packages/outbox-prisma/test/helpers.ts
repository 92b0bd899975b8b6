import {
  createIntegrationEventBus,
  defineEvent,
  type HeraldOptions,
  InProcessBroker,
  InProcessTransport,
  type IntegrationEventBus,
  type IntegrationEventBusBuilder,
  type PublishOutcome,
  silentLogger,
  sleep,
  type WireMessage,
} from '@herald/core';

/** Small intervals so retries and lease expiries happen within a test. */
export const fastOptions: Partial<HeraldOptions> = {
  localRetryTimes: 1,
  localFailedRetryInterval: 5,
  maxRetryTimes: 5,
  failedRetryInterval: 30,
  retryBackoff: () => 30,
  minimumRetryInterval: 2_000,
  pollingInterval: 50,
  handlerTimeout: 5_000,
};

export const OrderPlaced = defineEvent<{ orderId: string; n: number }>('test.order-placed');
export const PaymentTaken = defineEvent<{ paymentId: string }>('test.payment-taken');

/** A unique suffix, so handler names never collide between tests sharing a database. */
export function unique(): string {
  return Math.random().toString(36).slice(2, 10);
}

/** A builder on an isolated in-process broker with {@link fastOptions}. */
export function builder(service: string, transport: InProcessTransport): IntegrationEventBusBuilder {
  return createIntegrationEventBus({ service, logger: silentLogger })
    .useTransport(transport)
    .configure(fastOptions);
}

/** An in-process transport that records every message it is asked to send (across relays). */
export class CountingTransport extends InProcessTransport {
  readonly sent: string[];

  constructor(broker: InProcessBroker, sent: string[] = []) {
    super({ broker });
    this.sent = sent;
  }

  override async publish(messages: readonly WireMessage[]): Promise<PublishOutcome[]> {
    for (const message of messages) this.sent.push(message.id);
    return super.publish(messages);
  }
}

export { InProcessBroker };

/** Buses started by a test, stopped after it. */
export class Buses {
  readonly #running: IntegrationEventBus[] = [];

  async start(...buses: IntegrationEventBus[]): Promise<void> {
    for (const bus of buses) {
      this.#running.push(bus);
      await bus.start();
    }
  }

  async stopAll(): Promise<void> {
    await Promise.allSettled(this.#running.splice(0).map((bus) => bus.stop()));
  }
}

/** Resolves when `predicate` holds (polled every 10 ms); rejects after `timeoutMs`. */
export async function eventually(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`Condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Waits until every outbox has nothing left to publish and the broker has delivered
 * everything. (Used instead of `bus.drain()`, which can keep starting over while a slow
 * claim is in flight; see core's README, "Known behaviours".)
 */
export async function settled(
  broker: InProcessBroker,
  outboxes: readonly { backlog(): Promise<{ pending: number }> }[],
  timeoutMs = 10_000,
): Promise<void> {
  await eventually(async () => {
    for (const outbox of outboxes) if ((await outbox.backlog()).pending > 0) return false;
    return broker.pending === 0;
  }, timeoutMs);
  await broker.whenIdle();
}

export * from './helpers/engines.js';
export * from './helpers/recording-client.js';
export * from './helpers/skip-locked.js';
/** Core's `sleep`, re-exported for the tests. */
export { sleep };
