import { InProcessTransport } from '@herald/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  Buses,
  builder,
  ENGINE_NAMES,
  type EngineHandle,
  eventually,
  InProcessBroker,
  OrderPlaced,
  openEngine,
  PROVIDERS,
  unique,
} from './helpers.js';

// Delayed publish through real buses: the record waits in the outbox table, not in a timer of the process.
describe.each(PROVIDERS)('delayed publish on %s', (provider) => {
  let db: EngineHandle;
  const buses = new Buses();

  beforeAll(async () => {
    db = await openEngine(provider);
  });
  afterAll(() => db?.close());
  beforeEach(() => db.reset());
  afterEach(() => buses.stopAll());

  /** A receiving service; records when its handler saw each order. */
  function receiver(broker: InProcessBroker) {
    const handled: Array<{ orderId: string; at: number }> = [];
    const bus = builder('billing', new InProcessTransport({ broker }))
      .useEventLog({ inbox: db.log({}, db.peer()).inbox })
      .handle(OrderPlaced, async (event) => void handled.push({ orderId: event.orderId, at: Date.now() }), {
        name: `bill-${unique()}`,
      })
      .build();
    return { bus, handled };
  }

  it(`${ENGINE_NAMES[provider]}: publish with delay: 300 in a transaction is handled after 300 ms, not before, woken by the publishing relay's timer`, async () => {
    const broker = new InProcessBroker();
    const log = db.log();
    // Polling too slow to matter: only the wake-up at the due time can deliver within the test.
    const sender = builder('ordering', new InProcessTransport({ broker }))
      .configure({ pollingInterval: 60_000 })
      .useEventLog({ outbox: log.outbox })
      .build();
    const { bus: billing, handled } = receiver(broker);
    await buses.start(billing, sender);

    const before = Date.now();
    await db.prisma.$transaction(async (tx) => {
      await sender.publish(new OrderPlaced({ orderId: 'o-delayed', n: 1 }), { tx, delay: 300 });
    });
    const after = Date.now();
    const [stored] = await log.outbox.list({ limit: 10 });
    if (Date.now() < before + 300) {
      expect(stored?.status, 'waits in the outbox until due').toBe('pending');
      expect(handled).toEqual([]);
    }
    expect(stored?.nextAttemptAt?.getTime()).toBeGreaterThanOrEqual(before + 300);
    expect(stored?.nextAttemptAt?.getTime()).toBeLessThanOrEqual(after + 300);

    await eventually(() => handled.length === 1, 10_000);
    expect(handled[0]!.orderId).toBe('o-delayed');
    expect(handled[0]!.at - before).toBeGreaterThanOrEqual(300);
    await eventually(async () => (await log.outbox.list({ limit: 10 }))[0]?.status === 'published');
  });

  it(`${ENGINE_NAMES[provider]}: a delayed record survives a restart: the bus that stored it stops, a new bus delivers it when due`, async () => {
    const broker = new InProcessBroker();
    const log = db.log();
    const { bus: billing, handled } = receiver(broker);
    const first = builder('ordering', new InProcessTransport({ broker }))
      .useEventLog({ outbox: log.outbox })
      .build();
    await buses.start(billing, first);

    const before = Date.now();
    await db.prisma.$transaction(async (tx) => {
      await first.publish(new OrderPlaced({ orderId: 'o-restart', n: 1 }), { tx, delay: 500 });
    });
    await first.stop();
    const [stored] = await log.outbox.list({ limit: 10 });
    expect(stored?.status).toBe('pending');
    expect(handled).toEqual([]);

    // A new process: it never saw the publish, so only its polling finds the record.
    const second = builder('ordering', new InProcessTransport({ broker }))
      .configure({ pollingInterval: 100 })
      .useEventLog({ outbox: db.log().outbox })
      .build();
    await buses.start(second);

    await eventually(() => handled.length === 1, 10_000);
    expect(handled[0]!.orderId).toBe('o-restart');
    expect(handled[0]!.at - before).toBeGreaterThanOrEqual(500);
    await eventually(async () => (await log.outbox.list({ limit: 10 }))[0]?.status === 'published');
    expect(handled).toHaveLength(1);
  });
});
