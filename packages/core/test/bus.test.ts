import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type BusEventMap,
  ConfigurationError,
  defineEvent,
  InProcessBroker,
  type IntegrationEventBus,
  JsonSerializer,
  memoryEventLog,
  SchemaValidationError,
  toWire,
  uuidv7,
} from '../src/index.js';
import { eventually, testBuilder } from './helpers.js';

const OrderPlaced = defineEvent('ordering.order-placed', {
  schema: z.object({ orderId: z.string(), total: z.number().nonnegative() }),
});

const running: IntegrationEventBus[] = [];
async function started(...buses: IntegrationEventBus[]): Promise<void> {
  running.push(...buses);
  for (const bus of buses) await bus.start();
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((bus) => bus.stop()));
});

function record<K extends keyof BusEventMap>(bus: IntegrationEventBus, name: K): BusEventMap[K][] {
  const seen: BusEventMap[K][] = [];
  bus.on(name, (event) => seen.push(event));
  return seen;
}

describe('publish → outbox → relay → transport → inbox → handler', () => {
  it('delivers an event from one service to another exactly once', async () => {
    const broker = new InProcessBroker();
    const handled: string[] = [];
    const ordering = testBuilder('ordering', broker).build();
    const billing = testBuilder('billing', broker)
      .handle(OrderPlaced, async (event, ctx) => {
        handled.push(event.orderId);
        expect(ctx.envelope.source).toBe('ordering');
        expect(ctx.handlerName).toBe('ordering.order-placed');
      })
      .build();
    const sent = record(ordering, 'sent');
    const received = record(billing, 'received');
    await started(billing, ordering);

    await ordering.publish(new OrderPlaced({ orderId: 'o-1', total: 10 }), { correlationId: 'req-1' });
    await ordering.drain();
    await billing.drain();

    expect(handled).toEqual(['o-1']);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ source: 'outbox', eventName: 'ordering.order-placed' });
    expect(received[0]).toMatchObject({ source: 'inbox', handler: 'ordering.order-placed' });
    expect(received[0]!.envelope.correlationId).toBe('req-1');
    expect(received[0]!.envelope.id).toBe(sent[0]!.messageId);
  });

  it('runs several handlers per event and one handler for several events', async () => {
    const broker = new InProcessBroker();
    const OrderCancelled = defineEvent<{ orderId: string }>('ordering.order-cancelled');
    const calls: string[] = [];
    class AuditHandler {
      async handle(event: { orderId: string }) {
        calls.push(`audit:${event.orderId}`);
      }
    }
    const bus = testBuilder('ordering', broker)
      .handle(OrderPlaced, async (e) => void calls.push(`a:${e.orderId}`), { name: 'first' })
      .handle(OrderPlaced, async (e) => void calls.push(`b:${e.orderId}`), { name: 'second' })
      .handle([OrderPlaced, OrderCancelled], new AuditHandler())
      .build();
    await started(bus);
    await bus.publish([new OrderPlaced({ orderId: '1', total: 1 }), new OrderCancelled({ orderId: '2' })]);
    await bus.drain();
    expect(calls.sort()).toEqual(['a:1', 'audit:1', 'audit:2', 'b:1']);
  });

  it('rejects a schema violation on publish before anything is stored', async () => {
    const bus = testBuilder('ordering')
      .handle(OrderPlaced, async () => {})
      .build();
    const sent = record(bus, 'sent');
    await started(bus);
    await expect(bus.publish(new OrderPlaced({ orderId: 'x', total: -1 }))).rejects.toBeInstanceOf(
      SchemaValidationError,
    );
    await bus.drain();
    expect(sent).toHaveLength(0);
  });

  it('rejects duplicate handler names with a clear error', () => {
    expect(() =>
      testBuilder('svc')
        .handle(OrderPlaced, async () => {})
        .handle(OrderPlaced, async () => {}),
    ).toThrow(ConfigurationError);
  });

  it('absorbs duplicate deliveries in the inbox', async () => {
    const broker = new InProcessBroker();
    let calls = 0;
    const bus = testBuilder('billing', broker)
      .handle(OrderPlaced, async () => {
        calls++;
      })
      .build();
    const duplicates = record(bus, 'duplicate');
    await started(bus);
    const message = toWire(
      {
        id: uuidv7(),
        name: 'ordering.order-placed',
        version: 1,
        occurredAt: new Date().toISOString(),
        source: 'elsewhere',
        headers: {},
        payload: { orderId: 'd', total: 1 },
      },
      new JsonSerializer(),
    );
    await bus.transport.publish([message, message, message]);
    await bus.drain();
    expect(calls).toBe(1);
    expect(duplicates).toHaveLength(2);
  });
});

describe('bad input never stops the consumer', () => {
  async function consumerWithDeadLetters() {
    const broker = new InProcessBroker();
    const handled: string[] = [];
    const bus = testBuilder('billing', broker)
      .handle(OrderPlaced, async (event) => void handled.push(event.orderId))
      .build();
    const deadLettered = record(bus, 'dead-lettered');
    await started(bus);
    const good = (orderId: string) =>
      toWire(
        {
          id: uuidv7(),
          name: 'ordering.order-placed',
          version: 1,
          occurredAt: new Date().toISOString(),
          source: 'test',
          headers: {},
          payload: { orderId, total: 1 },
        },
        new JsonSerializer(),
      );
    return { bus, broker, handled, deadLettered, good };
  }

  it('dead-letters malformed JSON with the reason and keeps consuming', async () => {
    const { bus, broker, handled, deadLettered, good } = await consumerWithDeadLetters();
    const valid = good('after');
    const broken = { ...good('broken'), body: new TextEncoder().encode('{"orderId": ') };
    await bus.transport.publish([broken, valid]);
    await bus.drain();
    expect(handled).toEqual(['after']);
    expect(deadLettered[0]?.reason).toMatch(/HERALD_MALFORMED_MESSAGE/);
    const dlq = broker.deadLetters('billing');
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.reason).toMatch(/not valid JSON/);
  });

  it('dead-letters an unknown event name, a schema violation, a missing header and an oversized payload', async () => {
    const { bus, broker, handled, good } = await consumerWithDeadLetters();
    const unknown = {
      ...good('u'),
      headers: { ...good('u').headers, 'herald-name': 'nobody.knows' },
      name: 'ordering.order-placed',
    };
    const invalid = { ...good('i'), body: new TextEncoder().encode('{"orderId": 5}') };
    const { 'herald-id': _id, ...noId } = good('n').headers;
    const missing = { ...good('n'), headers: noId };
    const oversized = {
      ...good('o'),
      body: new TextEncoder().encode(JSON.stringify({ orderId: 'x'.repeat(2 * 1024 * 1024), total: 1 })),
    };
    await bus.transport.publish([unknown, invalid, missing, oversized, good('ok')]);
    await bus.drain();
    expect(handled).toEqual(['ok']);
    const reasons = broker.deadLetters('billing').map((letter) => letter.reason);
    expect(reasons).toHaveLength(4);
    expect(reasons.join('\n')).toMatch(/HERALD_UNKNOWN_EVENT/);
    expect(reasons.join('\n')).toMatch(/HERALD_SCHEMA_VALIDATION/);
    expect(reasons.join('\n')).toMatch(/herald-id/);
    expect(reasons.join('\n')).toMatch(/HERALD_PAYLOAD_TOO_LARGE/);
  });

  it('retries a throwing handler locally, then persistently, then dead-letters it with the last error', async () => {
    const broker = new InProcessBroker();
    let attempts = 0;
    let healthy = false;
    const log = memoryEventLog();
    const bus = testBuilder('billing', broker)
      .useEventLog(log)
      .handle(OrderPlaced, async (event) => {
        if (event.orderId === 'poison' && !healthy) {
          attempts++;
          throw new Error(`boom ${attempts}`);
        }
      })
      .build();
    const failures = record(bus, 'failed');
    const deadLettered = record(bus, 'dead-lettered');
    const received = record(bus, 'received');
    await started(bus);
    await bus.publish([
      new OrderPlaced({ orderId: 'poison', total: 1 }),
      new OrderPlaced({ orderId: 'fine', total: 1 }),
    ]);
    await eventually(() => deadLettered.length === 1);
    // 1 first try + 2 local retries, then 2 persistent retries (maxRetryTimes = 2).
    expect(attempts).toBe(5);
    expect(failures.filter((f) => f.stage === 'handle')).toHaveLength(5);
    expect(deadLettered[0]).toMatchObject({ stage: 'handle', handler: 'ordering.order-placed' });
    expect(deadLettered[0]!.reason).toContain('boom 5');
    expect(received.map((r) => r.envelope.payload)).toEqual([{ orderId: 'fine', total: 1 }]);
    const dead = await log.inbox.list({ status: 'dead' });
    expect(dead).toHaveLength(1);
    expect(dead[0]!.lastError).toContain('boom 5');

    // The cause is fixed and an operator re-queues the dead entry: it is handled once.
    healthy = true;
    expect(
      await log.inbox.requeue([{ messageId: dead[0]!.messageId, handler: dead[0]!.handler }], new Date()),
    ).toBe(1);
    await eventually(() => received.length === 2);
    expect(await log.inbox.list({ status: 'dead' })).toHaveLength(0);
    expect(attempts).toBe(5);
  });

  it('fails a handler that hangs past handlerTimeout and keeps consuming', async () => {
    const broker = new InProcessBroker();
    const handled: string[] = [];
    let aborted = 0;
    const bus = testBuilder('billing', broker)
      .configure({ handlerTimeout: 30, localRetryTimes: 0, maxRetryTimes: 0 })
      .handle(OrderPlaced, async (event, ctx) => {
        if (event.orderId === 'hang') {
          ctx.signal.addEventListener('abort', () => aborted++);
          await new Promise(() => {});
        }
        handled.push(event.orderId);
      })
      .build();
    const deadLettered = record(bus, 'dead-lettered');
    await started(bus);
    await bus.publish([
      new OrderPlaced({ orderId: 'hang', total: 1 }),
      new OrderPlaced({ orderId: 'next', total: 1 }),
    ]);
    await eventually(() => deadLettered.length === 1 && handled.length === 1);
    expect(handled).toEqual(['next']);
    expect(deadLettered[0]!.reason).toMatch(/HERALD_HANDLER_TIMEOUT/);
    expect(aborted).toBe(1);
  });
});

describe('ordering', () => {
  it('keeps per-key order and parks only the failing key', async () => {
    const broker = new InProcessBroker();
    const seen: string[] = [];
    let failuresLeft = 4;
    const Step = defineEvent<{ key: string; n: number }>('step');
    const bus = testBuilder('worker', broker)
      .configure({ localRetryTimes: 1, maxRetryTimes: 5 })
      .handle(Step, async (event) => {
        if (event.key === 'a' && event.n === 1 && failuresLeft-- > 0) throw new Error('transient');
        seen.push(`${event.key}${event.n}`);
      })
      .build();
    await started(bus);
    const events = [];
    for (let n = 1; n <= 4; n++) {
      events.push(
        { event: new Step({ key: 'a', n }), key: 'a' },
        { event: new Step({ key: 'b', n }), key: 'b' },
      );
    }
    for (const { event, key } of events) await bus.publish(event, { orderingKey: key });
    await eventually(() => seen.filter((s) => s.startsWith('b')).length === 4);
    // Key b flowed while a1 was parked.
    expect(seen.filter((s) => s.startsWith('a'))).toEqual([]);
    await eventually(() => seen.length === 8);
    expect(seen.filter((s) => s.startsWith('a'))).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(seen.filter((s) => s.startsWith('b'))).toEqual(['b1', 'b2', 'b3', 'b4']);
  });
});

describe('event versions', () => {
  it('upcasts older payloads to the shape the consumer knows', async () => {
    const broker = new InProcessBroker();
    const PriceChangedV1 = defineEvent<{ sku: string; price: number }>('catalog.price-changed');
    const PriceChangedV3 = defineEvent('catalog.price-changed', {
      version: 3,
      schema: z.object({ sku: z.string(), amount: z.number(), currency: z.string() }),
      upcasters: {
        1: (v1: { sku: string; price: number }) => ({ sku: v1.sku, amount: v1.price }),
        2: (v2: { sku: string; amount: number }) => ({ ...v2, currency: 'EUR' }),
      },
    });
    const got: unknown[] = [];
    const producer = testBuilder('catalog-old', broker).build();
    const consumer = testBuilder('ordering', broker)
      .handle(PriceChangedV3, async (event) => void got.push({ ...event }))
      .build();
    await started(consumer, producer);
    await producer.publish(new PriceChangedV1({ sku: 's', price: 5 }));
    await producer.drain();
    await consumer.drain();
    expect(got).toEqual([{ sku: 's', amount: 5, currency: 'EUR' }]);
  });
});

describe('domain event converters', () => {
  it('publishes the integration events a converter returns', async () => {
    class OrderCreatedDomainEvent {
      constructor(readonly order: { id: string; total: number }) {}
    }
    const handled: string[] = [];
    const bus = testBuilder('ordering')
      .convert(OrderCreatedDomainEvent, (d) => new OrderPlaced({ orderId: d.order.id, total: d.order.total }))
      .handle(OrderPlaced, async (e) => void handled.push(e.orderId))
      .build();
    await started(bus);
    await bus.publishDomainEvents([new OrderCreatedDomainEvent({ id: 'x', total: 2 })]);
    await bus.drain();
    expect(handled).toEqual(['x']);
  });
});

describe('transactions', () => {
  it('commits the outbox record with the caller transaction, or not at all', async () => {
    const broker = new InProcessBroker();
    const log = memoryEventLog();
    const handled: string[] = [];
    const producer = testBuilder('ordering', broker).useEventLog(log).build();
    const consumer = testBuilder('billing', broker)
      .handle(OrderPlaced, async (e) => void handled.push(e.orderId))
      .build();
    await started(consumer, producer);
    await expect(
      log.database.transaction(async (tx) => {
        tx.put('orders', 'r', { id: 'r' });
        await producer.publish(new OrderPlaced({ orderId: 'rolled-back', total: 1 }), { tx });
        throw new Error('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');
    await log.database.transaction(async (tx) => {
      tx.put('orders', 'c', { id: 'c' });
      await producer.publish(new OrderPlaced({ orderId: 'committed', total: 1 }), { tx });
    });
    await eventually(() => handled.length === 1);
    await producer.drain();
    await consumer.drain();
    expect(handled).toEqual(['committed']);
    expect(log.database.get('orders', 'r')).toBeUndefined();
    expect((await log.outbox.list({})).map((r) => r.message.name)).toEqual(['ordering.order-placed']);
  });

  it('commits a handler write with its inbox entry (effectively once)', async () => {
    const broker = new InProcessBroker();
    const log = memoryEventLog();
    let failOnce = true;
    const consumer = testBuilder('billing', broker)
      .useEventLog(log)
      .handle(OrderPlaced, async (event, ctx) => {
        const tx = ctx.tx as import('../src/index.js').MemoryTransaction;
        tx.put('invoices', event.orderId, { orderId: event.orderId });
        if (failOnce) {
          failOnce = false;
          throw new Error('crash after write');
        }
      })
      .build();
    const producer = testBuilder('ordering', broker).build();
    await started(consumer, producer);
    await producer.publish(new OrderPlaced({ orderId: 'inv-1', total: 1 }));
    await producer.drain();
    await consumer.drain();
    expect(log.database.all('invoices')).toEqual([{ orderId: 'inv-1' }]);
    expect((await log.inbox.list({ status: 'processed' })).length).toBe(1);
  });

  it('sends directly with useOutbox: false', async () => {
    const broker = new InProcessBroker();
    const handled: string[] = [];
    const bus = testBuilder('svc', broker)
      .handle(OrderPlaced, async (e) => void handled.push(e.orderId))
      .build();
    const sent = record(bus, 'sent');
    await started(bus);
    await bus.publish(new OrderPlaced({ orderId: 'direct', total: 1 }), { useOutbox: false });
    await bus.drain();
    expect(handled).toEqual(['direct']);
    expect(sent[0]!.source).toBe('direct');
  });
});

describe('lifecycle', () => {
  it('stops gracefully, waiting for in-flight handlers', async () => {
    const broker = new InProcessBroker();
    let finished = false;
    const bus = testBuilder('svc', broker)
      .configure({ handlerTimeout: 2000 })
      .handle(OrderPlaced, async () => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        finished = true;
      })
      .build();
    await bus.start();
    await bus.publish(new OrderPlaced({ orderId: 'slow', total: 1 }));
    await eventually(() => broker.pending > 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await bus.stop();
    expect(finished).toBe(true);
    expect(bus.state).toBe('stopped');
  });

  it('cannot start twice', async () => {
    const bus = testBuilder('svc').build();
    await started(bus);
    await expect(bus.start()).rejects.toThrow(/cannot start/);
  });
});

describe('health', () => {
  it('reports readiness, relay lag and lock ownership', async () => {
    const bus = testBuilder('svc').build();
    expect((await bus.health()).ready).toBe(false);
    await started(bus);
    const health = await bus.health();
    expect(health).toMatchObject({
      state: 'running',
      live: true,
      ready: true,
      transport: { name: 'in-process', connected: true },
    });
    expect(health.outbox).toMatchObject({ pending: 0, lagging: false });
    expect(health.relays).toEqual([{ name: 'Default', holdsLock: true }]);
    await bus.stop();
    expect(await bus.health()).toMatchObject({ live: false, ready: false });
  });
});

describe('KeyedQueue', () => {
  it('keeps per-key order and the concurrency limit under a long queue', async () => {
    const { KeyedQueue } = await import('../src/index.js');
    const queue = new KeyedQueue(4);
    let running = 0;
    let peak = 0;
    const seen = new Map<string, number[]>();
    const tasks = Array.from({ length: 5000 }, (_, i) =>
      queue.run(`k${i % 7}`, async () => {
        running++;
        peak = Math.max(peak, running);
        await Promise.resolve();
        seen.set(`k${i % 7}`, [...(seen.get(`k${i % 7}`) ?? []), i]);
        running--;
      }),
    );
    await Promise.all(tasks);
    await queue.onIdle();
    expect(peak).toBeLessThanOrEqual(4);
    for (const list of seen.values()) expect(list).toEqual([...list].sort((a, b) => a - b));
    expect([...seen.values()].reduce((sum, list) => sum + list.length, 0)).toBe(5000);
  });
});

describe('ordering keys per event', () => {
  it('computes a key for each event of one publish call', async () => {
    const log = memoryEventLog();
    const Step = defineEvent<{ key: string; n: number }>('step-keyed');
    const bus = testBuilder('svc').useEventLog(log).build();
    await bus.publish([new Step({ key: 'a', n: 1 }), new Step({ key: 'b', n: 2 })], {
      orderingKey: (event) => (event as { key: string }).key,
    });
    const records = await log.outbox.list({});
    expect(records.map((r) => r.message.orderingKey)).toEqual(['a', 'b']);
  });
});
