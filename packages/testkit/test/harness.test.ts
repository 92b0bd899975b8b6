import {
  ConfigurationError,
  createIntegrationEventBus,
  InProcessTransport,
  type MemoryTransaction,
  memoryEventLog,
  silentLogger,
} from '@herald/core';
import { afterEach, describe, expect, it } from 'vitest';
import { chaosEventLog, createTestHarness, type TestHarness } from '../src/index.js';

class OrderPlaced {
  static readonly eventName = 'ordering.order-placed';
  constructor(
    readonly orderId: string,
    readonly total: number,
  ) {}
}

class InvoiceIssued {
  static readonly eventName = 'billing.invoice-issued';
  constructor(readonly orderId: string) {}
}

const service = (name: string) => createIntegrationEventBus({ service: name, logger: silentLogger });

let harness: TestHarness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

describe('createTestHarness with one service', () => {
  it('records what was published through the outbox and what was consumed', async () => {
    const handled: string[] = [];
    const builder = service('ordering').handle(OrderPlaced, (event) => void handled.push(event.orderId), {
      name: 'count-orders',
    });
    harness = await createTestHarness(builder);
    await harness.bus.publish([new OrderPlaced('o-1', 10), new OrderPlaced('o-2', 20)]);
    await harness.drain();

    expect(handled.sort()).toEqual(['o-1', 'o-2']);
    expect(harness.wasPublished(OrderPlaced, (order) => order.orderId === 'o-1')).toBe(true);
    expect(harness.wasPublished(OrderPlaced, (order) => order.orderId === 'nope')).toBe(false);
    expect(harness.wasPublished('ordering.order-placed')).toBe(true);
    expect(
      harness.published.every((message) => message.source === 'outbox' && message.service === 'ordering'),
    ).toBe(true);
    expect(
      harness.wasConsumed(
        OrderPlaced,
        (order, record) => order.total === 20 && record.handler === 'count-orders',
      ),
    ).toBe(true);
    expect(harness.consumedOf(OrderPlaced)).toHaveLength(2);
    expect(harness.deadLettered).toEqual([]);
  });

  it('drain({ includeScheduledRetries }) waits for a delayed publish until it is sent', async () => {
    harness = await createTestHarness(service('ordering'));
    await harness.bus.publish(new OrderPlaced('o-soon', 2), { delay: 100 });
    await harness.drain({ includeScheduledRetries: true, timeoutMs: 3_000 });
    expect(harness.wasPublished(OrderPlaced, (order) => order.orderId === 'o-soon')).toBe(true);
  });

  it('drain() does not wait for a delayed publish that is not due; with includeScheduledRetries it does', async () => {
    harness = await createTestHarness(service('ordering'));
    await harness.bus.publish(new OrderPlaced('o-later', 1), { delay: 3_600_000 });
    await harness.drain({ timeoutMs: 2_000 });
    expect(harness.wasPublished(OrderPlaced)).toBe(false);
    await expect(harness.drain({ includeScheduledRetries: true, timeoutMs: 300 })).rejects.toThrow(
      /delayed records not due yet/,
    );
  });

  it('sees events published inside a committed transaction, and nothing from a rolled-back one', async () => {
    const builder = service('ordering').handle(OrderPlaced, () => undefined, { name: 'noop' });
    harness = await createTestHarness(builder);
    const database = harness.database();
    await database.transaction(async (tx) => {
      tx.put('orders', 'o-1', { total: 10 });
      await harness!.bus.publish(new OrderPlaced('o-1', 10), { tx });
    });
    await expect(
      database.transaction(async (tx) => {
        await harness!.bus.publish(new OrderPlaced('o-2', 20), { tx });
        throw new Error('business rule violated');
      }),
    ).rejects.toThrow('business rule violated');
    await harness.drain();

    expect(harness.publishedOf(OrderPlaced).map((message) => message.payload.orderId)).toEqual(['o-1']);
    expect(harness.consumedOf(OrderPlaced).map((message) => message.payload.orderId)).toEqual(['o-1']);
    expect(database.get('orders', 'o-1')).toEqual({ total: 10 });
  });

  it('records failures and dead letters of a handler that always throws (drain can wait for retries)', async () => {
    const builder = service('ordering')
      .configure({ localRetryTimes: 1, maxRetryTimes: 1 })
      .handle(
        OrderPlaced,
        () => {
          throw new Error('payment provider down');
        },
        { name: 'charge' },
      );
    harness = await createTestHarness(builder);
    await harness.bus.publish(new OrderPlaced('o-1', 10));
    await harness.drain({ includeScheduledRetries: true });

    expect(harness.wasConsumed(OrderPlaced)).toBe(false);
    expect(harness.failures.length).toBeGreaterThanOrEqual(3);
    expect(harness.deadLettered).toHaveLength(1);
    expect(harness.deadLettered[0]).toMatchObject({
      stage: 'handle',
      handler: 'charge',
      service: 'ordering',
    });
    expect(harness.deadLettered[0]!.reason).toContain('payment provider down');
  });

  it('drain() is bounded: it rejects while a handler is still running', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const builder = service('ordering').handle(OrderPlaced, () => blocked, { name: 'slow' });
    harness = await createTestHarness(builder);
    await harness.bus.publish(new OrderPlaced('o-1', 10));
    await expect(harness.drain({ timeoutMs: 200 })).rejects.toThrow(/idle within 200 ms/);
    release();
    await harness.drain();
    expect(harness.wasConsumed(OrderPlaced)).toBe(true);
  });

  it('applies short test intervals to options left at their defaults; explicit settings win', async () => {
    const keeps = service('keeps').configure({ pollingInterval: 7 });
    const overridden = service('overridden');
    harness = await createTestHarness([keeps, overridden], { options: { failedRetryInterval: 30 } });
    expect(harness.busOf('keeps').options.pollingInterval).toBe(7);
    expect(harness.busOf('overridden').options.pollingInterval).toBe(20);
    expect(harness.busOf('overridden').options.minimumRetryInterval).toBe(500);
    expect(harness.busOf('overridden').options.failedRetryInterval).toBe(30);
  });
});

describe('createTestHarness with several services', () => {
  it('connects the services through one broker and follows an event chain across them', async () => {
    const ordering = service('ordering').handle(InvoiceIssued, () => undefined, { name: 'mark-invoiced' });
    const billing = service('billing').handle(
      OrderPlaced,
      async (event, ctx) => {
        (ctx.tx as MemoryTransaction).put('invoices', event.orderId, { total: event.total });
        await ctx.publish(new InvoiceIssued(event.orderId));
      },
      { name: 'issue-invoice' },
    );
    harness = await createTestHarness([ordering, billing]);
    await harness.busOf('ordering').publish(new OrderPlaced('o-7', 70));
    await harness.drain();

    const placed = harness.publishedOf(OrderPlaced);
    expect(placed.map((message) => message.service)).toEqual(['ordering']);
    const issued = harness.publishedOf(InvoiceIssued);
    expect(issued.map((message) => message.service)).toEqual(['billing']);
    expect(issued[0]!.envelope?.causationId).toBe(placed[0]!.messageId);
    expect(
      harness.wasConsumed(
        InvoiceIssued,
        (event, record) => event.orderId === 'o-7' && record.service === 'ordering',
      ),
    ).toBe(true);
    expect(harness.database('billing').get('invoices', 'o-7')).toEqual({ total: 70 });
    expect(harness.database('ordering').get('invoices', 'o-7')).toBeUndefined();
  });
});

describe('createTestHarness with user-supplied adapters', () => {
  it("keeps a builder's own transport, and refuses delivery chaos it cannot reach", async () => {
    const own = new InProcessTransport();
    const plain = service('own-transport')
      .useTransport(own)
      .handle(OrderPlaced, () => undefined, { name: 'noop' });
    harness = await createTestHarness(plain);
    expect(harness.bus.transport).toBe(own);
    await harness.stop();

    const chaotic = service('own-transport-chaos').useTransport(new InProcessTransport());
    await expect(createTestHarness(chaotic, { chaos: { duplicateDeliveries: true } })).rejects.toThrow(
      ConfigurationError,
    );
  });

  it('refuses store chaos on an unwrapped own event log, and accepts it wrapped with chaosEventLog', async () => {
    const unwrapped = service('own-log')
      .useEventLog(memoryEventLog())
      .handle(OrderPlaced, () => undefined, { name: 'noop' });
    await expect(createTestHarness(unwrapped, { chaos: { crashAfterHandler: true } })).rejects.toThrow(
      /chaosEventLog/,
    );

    const log = memoryEventLog();
    let runs = 0;
    const wrapped = service('own-log-wrapped')
      .useEventLog(chaosEventLog(log, { crashAfterHandler: true }))
      .handle(OrderPlaced, () => void runs++, { name: 'count' });
    harness = await createTestHarness(wrapped, { chaos: { crashAfterHandler: true } });
    await harness.bus.publish(new OrderPlaced('o-1', 1));
    await harness.drain();
    expect(runs).toBe(2);
    expect(harness.consumedOf(OrderPlaced)).toHaveLength(1);
    expect(await log.inbox.list({ status: 'processed' })).toHaveLength(1);
  });
});
