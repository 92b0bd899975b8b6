import { describe, expect, it } from 'vitest';
import {
  createIntegrationEventBus,
  type DeliveryHandler,
  type Disposition,
  defineEvent,
  memoryEventLog,
  type PublishOutcome,
  type SubscriptionHandle,
  silentLogger,
  sleep,
  type Transport,
  type WireMessage,
} from '../src/index.js';
import { eventually } from './helpers.js';

/**
 * A transport that keeps no order at all: it holds what the relay sends, and
 * the test hands those messages to the consumer all at once, so every
 * delivery of a key is in flight at the same time. Only the bus can keep a
 * key's handlers in sequence.
 */
class UnorderedTransport implements Transport {
  readonly name = 'unordered-test';
  readonly capabilities = {
    orderedByKey: false,
    persistent: false,
    deadLetter: false,
    batchPublish: true,
    delayedRedelivery: false,
    consumerGroups: true,
  };
  readonly sent: WireMessage[] = [];
  handler: DeliveryHandler | undefined;

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  async publish(messages: readonly WireMessage[]): Promise<PublishOutcome[]> {
    this.sent.push(...messages);
    return messages.map((message) => ({ id: message.id, ok: true }));
  }

  async subscribe(_subscription: unknown, handler: DeliveryHandler): Promise<SubscriptionHandle> {
    this.handler = handler;
    return { close: async () => undefined };
  }

  /** Delivers every message at once, in the given order, without waiting for any. */
  deliverAllAtOnce(messages: readonly WireMessage[]): Promise<Disposition[]> {
    const handler = this.handler!;
    return Promise.all(
      messages.map((message) =>
        handler({ headers: message.headers, body: message.body, deliveryAttempt: 1 }),
      ),
    );
  }
}

const Step = defineEvent<{ key: string; seq: number }>('ordering-test.step');

describe('per-key order on a transport that does not order', () => {
  it('runs the handlers of one key one at a time in delivery order; other keys overlap', async () => {
    const transport = new UnorderedTransport();
    const started: string[] = [];
    const running = new Map<string, number>();
    let peakPerKey = 0;
    let runningTotal = 0;
    let peakTotal = 0;
    const bus = createIntegrationEventBus({ service: 'ordering-test', logger: silentLogger })
      .useTransport(transport)
      .useEventLog(memoryEventLog())
      .configure({ concurrency: 16 })
      .handle(Step, async (event) => {
        const now = (running.get(event.key) ?? 0) + 1;
        running.set(event.key, now);
        peakPerKey = Math.max(peakPerKey, now);
        peakTotal = Math.max(peakTotal, ++runningTotal);
        started.push(`${event.key}${event.seq}`);
        // The first of each key is slow, the rest fast: without serialization they would overtake it.
        await sleep(event.seq === 0 ? 60 : 2);
        running.set(event.key, running.get(event.key)! - 1);
        runningTotal--;
      })
      .build();
    await bus.start();
    try {
      for (let seq = 0; seq < 5; seq++) {
        for (const key of ['a', 'b', 'c']) await bus.publish(new Step({ key, seq }), { orderingKey: key });
      }
      await eventually(() => transport.sent.length === 15);
      // Delivery order: interleaved keys, each key's messages in publish order.
      const dispositions = await transport.deliverAllAtOnce(transport.sent);
      expect(dispositions.every((disposition) => disposition.kind === 'ack')).toBe(true);

      for (const key of ['a', 'b', 'c']) {
        expect(started.filter((label) => label.startsWith(key))).toEqual(
          [0, 1, 2, 3, 4].map((n) => `${key}${n}`),
        );
      }
      expect(peakPerKey).toBe(1);
      expect(peakTotal).toBeGreaterThan(1);
    } finally {
      await bus.stop();
    }
  });
});
