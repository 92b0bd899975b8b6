import {
  ConfigurationError,
  createIntegrationEventBus,
  defineEvent,
  HeraldError,
  type HeraldOptions,
  InProcessBroker,
  InProcessTransport,
  type IntegrationEventBus,
  type Logger,
  MemoryLock,
  type PublishOutcome,
  StaleFencingTokenError,
  silentLogger,
  type WireMessage,
} from '@herald/core';
import { outboxEntry, testWireMessage, uniqueEventName } from '@herald/testkit';
import type { MongoClient } from 'mongodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MongoEventLog, MongoTransactionsUnavailableError, mongoEventLog } from '../src/index.js';
import { clearDatabase, connect, uniqueDbName, waitFor } from './helpers.js';

/* What is special about MongoDB / FerretDB 1.24 (HERALD_MONGO_URL): the server checks, the
 * workarounds for FerretDB's non-atomic updates, and a real bus on top of the stores. */

const db = uniqueDbName('mongo');
let client: MongoClient;
const logs: MongoEventLog[] = [];

beforeAll(async () => {
  client = await connect();
});

afterAll(async () => {
  await client
    ?.db(db)
    .dropDatabase()
    .catch(() => undefined);
  await client?.close();
});

beforeEach(async () => {
  await clearDatabase(client.db(db));
});

afterEach(async () => {
  await Promise.all(logs.splice(0).map((log) => log.close()));
});

function eventLog(options: Partial<Parameters<typeof mongoEventLog>[1]> = {}, on = client): MongoEventLog {
  const log = mongoEventLog(on, { db, transactions: 'off', changeStreams: 'off', ...options });
  logs.push(log);
  return log;
}

function recordingLogger(): Logger & { lines: Array<{ level: string; message: string }> } {
  const lines: Array<{ level: string; message: string }> = [];
  const at = (level: string) => (message: string) => void lines.push({ level, message });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('init() and transactions', () => {
  it("refuses transactions: 'required' on FerretDB with a typed error that says what to do", async () => {
    const log = eventLog({ transactions: 'required' });
    const error = await log.init().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MongoTransactionsUnavailableError);
    expect(error).toBeInstanceOf(HeraldError);
    const typed = error as MongoTransactionsUnavailableError;
    expect(typed.code).toBe('HERALD_MONGO_NO_TRANSACTIONS');
    expect(typed.server.ferretDbVersion).toMatch(/^v1\./);
    expect(typed.server.setName).toBeUndefined();
    expect(typed.server.transactions).toBe(false);
    expect(typed.message).toContain('FerretDB');
    expect(typed.message).toContain('replica set');
    expect(typed.message).toContain("transactions: 'off'");
  });

  it('store operations run the same check lazily: the typed error, never the server’s own', async () => {
    const log = eventLog({ transactions: 'required' });
    await expect(
      log.outbox.claim({ limit: 1, leaseMs: 1000, owner: 'test', now: new Date() }),
    ).rejects.toBeInstanceOf(MongoTransactionsUnavailableError);
    let ran = false;
    await expect(
      log.inbox.transaction(async () => {
        ran = true;
      }),
    ).rejects.toBeInstanceOf(MongoTransactionsUnavailableError);
    expect(ran, 'no work runs without the transaction it was promised').toBe(false);
    await expect(log.outbox.add([outboxEntry(testWireMessage())])).rejects.toBeInstanceOf(
      MongoTransactionsUnavailableError,
    );
    expect(await client.db(db).collection('herald_outbox').countDocuments()).toBe(0);
  });

  it("with transactions: 'off', init() reports the server and creates the indexes, idempotently", async () => {
    const server = await eventLog().init();
    expect(server.transactions).toBe(false);
    expect(server.ferretDbVersion).toBeDefined();
    // A second event log on existing indexes (FerretDB 1.24 panics on a repeated multi-index createIndexes).
    await eventLog().init();
    const names = async (collection: string) =>
      (await client.db(db).collection(collection).listIndexes().toArray()).map((index) => index.name).sort();
    expect(await names('herald_outbox')).toEqual(
      ['_id_', 'herald_chain', 'herald_claim', 'herald_expiry', 'herald_seq'].sort(),
    );
    expect(await names('herald_inbox')).toEqual(
      [
        '_id_',
        'herald_chain',
        'herald_claim',
        'herald_expiry',
        'herald_handler',
        'herald_parked',
        'herald_seq',
      ].sort(),
    );
    const seqIndex = (await client.db(db).collection('herald_outbox').listIndexes().toArray()).find(
      (index) => index.name === 'herald_seq',
    );
    expect(seqIndex?.unique).toBe(true);
  });

  it('refuses a tx it cannot honour, before touching the server', async () => {
    const off = eventLog();
    const message = outboxEntry(testWireMessage());
    const session = client.startSession();
    try {
      await expect(off.outbox.add([message], session)).rejects.toBeInstanceOf(ConfigurationError);
      const required = eventLog({ transactions: 'required' });
      await expect(required.outbox.add([message], { not: 'a session' })).rejects.toThrow(/ClientSession/);
      await expect(required.outbox.add([message], session)).rejects.toThrow(/no active transaction/);
      expect(required.outbox.transactional).toBe(true);
      expect(off.outbox.transactional).toBe(false);
      expect(off.inbox.transactional).toBe(false);
      expect(off.inbox.durable).toBe(true);
    } finally {
      await session.endSession();
    }
  });

  it('rejects bad options with ConfigurationError', () => {
    expect(() => mongoEventLog({} as MongoClient, { db })).toThrow(ConfigurationError);
    expect(() => mongoEventLog(client, { db: '' })).toThrow(/database/);
    expect(() => mongoEventLog(client, { db, transactions: 'sometimes' as 'off' })).toThrow(
      ConfigurationError,
    );
    expect(() => mongoEventLog(client, { db, changeStreams: 'maybe' as 'off' })).toThrow(ConfigurationError);
    expect(() => mongoEventLog(client, { db, collections: { outbox: 'x', inbox: 'x' } })).toThrow(
      ConfigurationError,
    );
    expect(() => mongoEventLog(client, { db, collections: { outbox: 'a$b' } })).toThrow(ConfigurationError);
    expect(mongoEventLog(client, { db, transactions: 'off' }).outbox.databaseName).toBe(db);
    expect(
      mongoEventLog(client, { db, transactions: 'off', databaseName: 'orders' }).inbox.databaseName,
    ).toBe('orders');
  });
});

describe('change streams', () => {
  it("'auto' falls back to polling on FerretDB, with one debug line", async () => {
    const logger = recordingLogger();
    const log = eventLog({ changeStreams: 'auto', logger });
    expect(log.outbox.wakeState).toBe('idle');
    const unsubscribe = log.outbox.onWake(() => undefined);
    expect(await log.outbox.wakeSettled()).toBe('polling');
    expect(logger.lines).toEqual([
      { level: 'debug', message: 'The server has no change streams; the outbox relay polls' },
    ]);
    unsubscribe();
    await waitFor(() => log.outbox.wakeState === 'idle', 'the wake-up source to close');
  });

  it("'off' polls without asking the server", async () => {
    const logger = recordingLogger();
    const log = eventLog({ changeStreams: 'off', logger });
    log.outbox.onWake(() => undefined);
    expect(log.outbox.wakeState).toBe('polling');
    expect(logger.lines).toEqual([]);
  });
});

describe('FerretDB without atomic updates', () => {
  it('concurrent adds from two clients get unique sequence numbers, consecutive within each add', async () => {
    const other = await connect();
    try {
      const [a, b] = [eventLog(), eventLog({}, other)];
      await Promise.all([a.init(), b.init()]);
      const name = uniqueEventName('seq');
      const batches = Array.from({ length: 16 }, () =>
        Array.from({ length: 4 }, () => testWireMessage({ name })),
      );
      await Promise.all(batches.map((batch, i) => (i % 2 ? a : b).outbox.add(batch.map(outboxEntry))));
      const records = await a.outbox.list({ eventName: name, limit: 1000 });
      expect(records).toHaveLength(64);
      const sequence = new Map(records.map((record) => [record.message.id, record.sequence]));
      expect(new Set(sequence.values()).size).toBe(64);
      for (const batch of batches) {
        const numbers = batch.map((message) => sequence.get(message.id)!);
        expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i));
      }
    } finally {
      await other.close();
    }
  });

  it('concurrent adds of the same messages store each once, without an error', async () => {
    const other = await connect();
    try {
      const [a, b] = [eventLog(), eventLog({}, other)];
      await Promise.all([a.init(), b.init()]);
      const name = uniqueEventName('same');
      const shared = Array.from({ length: 20 }, () => outboxEntry(testWireMessage({ name })));
      // Overlapping batches in different orders, so inserts collide in the middle of ordered batches.
      await Promise.all([
        a.outbox.add(shared),
        b.outbox.add([...shared].reverse()),
        a.outbox.add(shared.slice(5, 15)),
        b.outbox.add(shared.slice(10)),
      ]);
      const records = await a.outbox.list({ eventName: name, limit: 1000 });
      expect(records.map((record) => record.message.id).sort()).toEqual(
        shared.map((entry) => entry.message.id).sort(),
      );
      expect(new Set(records.map((record) => record.sequence)).size).toBe(20);
    } finally {
      await other.close();
    }
  });

  it('a key with many waiting records costs one claim window, not a scan: later keys still flow', async () => {
    const log = eventLog();
    const now = new Date();
    const name = uniqueEventName('window');
    const head = testWireMessage({ name, orderingKey: 'busy-key' });
    const waiting = Array.from({ length: 150 }, () => testWireMessage({ name, orderingKey: 'busy-key' }));
    const free = Array.from({ length: 5 }, (_, i) => testWireMessage({ name, orderingKey: `free-${i}` }));
    await log.outbox.add([head, ...waiting, ...free].map(outboxEntry));
    expect(
      (await log.outbox.claim({ limit: 1, leaseMs: 60_000, owner: 'a', now })).map((r) => r.message.id),
    ).toEqual([head.id]);
    const claimed = await log.outbox.claim({ limit: 5, leaseMs: 60_000, owner: 'b', now });
    expect(claimed.map((record) => record.message.id)).toEqual(free.map((message) => message.id));
  });

  it('a lease grant whose winner died before writing it is repaired, and the record flows again', async () => {
    const log = eventLog();
    await log.init();
    const message = testWireMessage();
    await log.outbox.add([outboxEntry(message)]);
    const now = new Date();
    const grants = client.db(db).collection<{ _id: string; until: Date }>('herald_outbox_leases');
    // Another relay won generation 1 and vanished before writing it onto the record.
    const grant = { record: message.id, gen: 1, owner: 'crashed', at: now };
    await grants.insertOne({
      _id: JSON.stringify([message.id, 1]),
      ...grant,
      until: new Date(now.getTime() + 5_000),
    });
    expect(
      await log.outbox.claim({ limit: 10, leaseMs: 1_000, owner: 'a', now }),
      'its lease still runs',
    ).toEqual([]);
    const later = new Date(now.getTime() + 6_000);
    expect(await log.outbox.claim({ limit: 10, leaseMs: 1_000, owner: 'a', now: later }), 'repaired').toEqual(
      [],
    );
    const claimed = await log.outbox.claim({ limit: 10, leaseMs: 1_000, owner: 'a', now: later });
    expect(claimed.map((record) => record.message.id)).toEqual([message.id]);
  });

  it('header names with dots and dollars round-trip', async () => {
    const log = eventLog();
    const message = testWireMessage({ headers: { 'x.dotted.name': 'a', $dollar: 'b', 'x-plain': '' } });
    await log.outbox.add([outboxEntry(message)]);
    const [record] = await log.outbox.claim({ limit: 1, leaseMs: 1000, owner: 'a', now: new Date() });
    expect(record!.message.headers).toMatchObject({ 'x.dotted.name': 'a', $dollar: 'b', 'x-plain': '' });
  });
});

describe('a bus on FerretDB', () => {
  const running: IntegrationEventBus[] = [];
  const fast: Partial<HeraldOptions> = {
    localRetryTimes: 1,
    localFailedRetryInterval: 5,
    maxRetryTimes: 2,
    failedRetryInterval: 20,
    retryBackoff: () => 20,
    // The lease: long enough that a slow CI never sees one expire (that is abnormal operation).
    minimumRetryInterval: 10_000,
    pollingInterval: 50,
    handlerTimeout: 2_000,
  };

  afterEach(async () => {
    await Promise.all(running.splice(0).map((bus) => bus.stop()));
  });

  function bus(service: string, broker: InProcessBroker, log: MongoEventLog, transport?: InProcessTransport) {
    return createIntegrationEventBus({ service, logger: silentLogger })
      .useTransport(transport ?? new InProcessTransport({ broker }))
      .useEventLog(log)
      .configure(fast);
  }

  async function start(...buses: IntegrationEventBus[]) {
    running.push(...buses);
    for (const b of buses) await b.start();
  }

  /**
   * Waits until every outbox record is published (nothing left for a relay to send) and the broker has
   * no delivery queued. Not bus.drain(): its quiet check livelocks when claims take real I/O time
   * (see the package README).
   */
  async function settled(broker: InProcessBroker, ...outboxes: MongoEventLog[]) {
    for (const log of outboxes) {
      await waitFor(async () => (await log.outbox.backlog()).pending === 0, 'an empty outbox', 20_000);
    }
    await broker.whenIdle();
  }

  it('publish → outbox → relay → inbox → handler, once', async () => {
    const OrderPlaced = defineEvent<{ orderId: string }>(uniqueEventName('order-placed'));
    const broker = new InProcessBroker();
    const handled: string[] = [];
    const ordering = bus('ordering', broker, eventLog()).build();
    const billing = bus(
      'billing',
      broker,
      eventLog({ collections: { outbox: 'billing_outbox', inbox: 'billing_inbox' } }),
    )
      .handle(OrderPlaced, async (event) => {
        handled.push(event.orderId);
      })
      .build();
    await start(billing, ordering);
    await ordering.publish(new OrderPlaced({ orderId: 'o-1' }));
    await waitFor(() => handled.length > 0, 'the handler');
    await settled(broker, logs[0]!);
    expect(handled).toEqual(['o-1']);
    const [record] = await logs[0]!.outbox.list({ eventName: OrderPlaced.eventName });
    expect(record?.status).toBe('published');
    const [entry] = await logs[1]!.inbox.list({});
    expect(entry).toMatchObject({ status: 'processed', eventName: OrderPlaced.eventName });
  });

  it('a delayed publish waits in the collection and survives a restart: a new bus sends it when due', async () => {
    const OrderPlaced = defineEvent<{ orderId: string }>(uniqueEventName('delayed'));
    const broker = new InProcessBroker();
    const handled: Array<{ orderId: string; at: number }> = [];
    const billing = bus(
      'billing',
      broker,
      eventLog({ collections: { outbox: 'd_outbox', inbox: 'd_inbox' } }),
    )
      .handle(OrderPlaced, async (event) => void handled.push({ orderId: event.orderId, at: Date.now() }))
      .build();
    const first = bus('ordering', broker, eventLog()).build();
    await start(billing, first);
    const before = Date.now();
    await first.publish(new OrderPlaced({ orderId: 'o-later' }), { delay: 400 });
    await first.stop();
    const [stored] = await logs[1]!.outbox.list({ eventName: OrderPlaced.eventName });
    expect(stored?.status).toBe('pending');
    expect(stored?.nextAttemptAt?.getTime()).toBeGreaterThanOrEqual(before + 400);
    expect(handled).toEqual([]);

    // A new process: it never saw the publish; its polling finds the record once due.
    await start(bus('ordering', broker, eventLog()).build());
    await waitFor(() => handled.length === 1, 'the delayed event handled');
    expect(handled[0]!.orderId).toBe('o-later');
    expect(handled[0]!.at - before).toBeGreaterThanOrEqual(400);
    await settled(broker, logs[1]!);
    expect(handled).toHaveLength(1);
  });

  it('bus.drain() returns once everything is relayed and handled, though claims take real I/O time', async () => {
    const Tick = defineEvent<{ n: number }>(uniqueEventName('drained'));
    const broker = new InProcessBroker();
    const handled: number[] = [];
    const log = eventLog({ collections: { outbox: 'drain_outbox', inbox: 'drain_inbox' } });
    const service = bus('drained', broker, log)
      .handle(Tick, async (event) => {
        handled.push(event.n);
      })
      .build();
    await start(service);
    for (let n = 0; n < 20; n++) await service.publish(new Tick({ n }));
    for (let round = 0; round < 5; round++) await service.drain({ timeoutMs: 10_000 });
    expect(handled.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect((await log.outbox.backlog()).pending).toBe(0);
  });

  it('two relays on one outbox send each event once', async () => {
    const Tick = defineEvent<{ n: number }>(uniqueEventName('tick'));
    const broker = new InProcessBroker();
    const sent: string[] = [];
    const handled: number[] = [];
    const replicas = [
      bus('ordering', broker, eventLog()).build(),
      bus('ordering', broker, eventLog()).build(),
    ];
    for (const replica of replicas) replica.on('sent', (event) => sent.push(event.messageId));
    const billing = bus(
      'billing',
      broker,
      eventLog({ collections: { outbox: 'b_outbox', inbox: 'b_inbox' } }),
    )
      .handle(Tick, async (event) => {
        handled.push(event.n);
      })
      .build();
    await start(billing, ...replicas);
    const total = 60;
    await Promise.all(
      Array.from({ length: total }, (_, n) =>
        replicas[n % 2]!.publish(new Tick({ n }), n % 3 === 0 ? { orderingKey: `k-${n % 4}` } : {}),
      ),
    );
    await waitFor(() => handled.length >= total, `${total} events handled`, 30_000);
    await settled(broker, logs[0]!, logs[1]!);
    expect(sent).toHaveLength(total);
    expect(new Set(sent).size).toBe(total);
    expect([...handled].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, n) => n));
    expect(await logs[0]!.outbox.backlog()).toEqual({ pending: 0, oldestCreatedAt: null });
  });

  it('two relays under one lock claim exclusively and fenced: each event sent once, one rewrite per record; a stale holder is refused', async () => {
    const Tick = defineEvent<{ n: number }>(uniqueEventName('tick'));
    const broker = new InProcessBroker();
    const lock = new MemoryLock();
    const sent: string[] = [];
    const handled: number[] = [];
    const replicas = [0, 1].map(() =>
      bus('ordering', broker, eventLog())
        .useLock(lock)
        .configure({ distributedLockWaitDuration: 20 })
        .build(),
    );
    for (const replica of replicas) replica.on('sent', (event) => sent.push(event.messageId));
    const billing = bus(
      'billing',
      broker,
      eventLog({ collections: { outbox: 'b_outbox', inbox: 'b_inbox' } }),
    )
      .handle(Tick, async (event) => {
        handled.push(event.n);
      })
      .build();
    await start(billing, ...replicas);
    const total = 60;
    await Promise.all(
      Array.from({ length: total }, (_, n) =>
        replicas[n % 2]!.publish(new Tick({ n }), n % 3 === 0 ? { orderingKey: `k-${n % 4}` } : {}),
      ),
    );
    await waitFor(() => handled.length >= total, `${total} events handled`, 30_000);
    await settled(broker, logs[0]!);
    expect(new Set(sent).size).toBe(total);
    expect(sent).toHaveLength(total);
    // Exclusive claims write no lease: no record was leased (generation 0) nor given a lease grant.
    const outbox = logs[0]!.db.collection(logs[0]!.collections.outbox);
    expect(await outbox.countDocuments({ lease: { $ne: 0 } })).toBe(0);
    // The lock's newest token is recorded; an older one is refused.
    const fences = await logs[0]!.db.collection(`${logs[0]!.collections.outbox}_fences`).find().toArray();
    expect(fences.length).toBeGreaterThanOrEqual(1);
    const { lock: lockKey, token } = fences[0] as unknown as { lock: string; token: string };
    await expect(
      logs[0]!.outbox.claim({
        limit: 10,
        leaseMs: 1_000,
        owner: 'stale',
        now: new Date(),
        exclusive: true,
        fence: { lock: lockKey, token: BigInt(token) - 1n },
      }),
    ).rejects.toBeInstanceOf(StaleFencingTokenError);
  });

  it('duplicate deliveries to two consumer replicas are absorbed by the Mongo inbox', async () => {
    const Paid = defineEvent<{ invoice: string }>(uniqueEventName('paid'));
    const broker = new InProcessBroker();
    const handled: string[] = [];
    const duplicates: string[] = [];
    const consumers = [0, 1].map(() =>
      bus('billing', broker, eventLog())
        .handle(Paid, async (event) => {
          handled.push(event.invoice);
        })
        .build(),
    );
    for (const consumer of consumers) consumer.on('duplicate', (event) => duplicates.push(event.messageId));
    await start(...consumers);
    // The same message, encoded as core encodes it, delivered four times (as a redelivering broker would).
    const message = testWireMessage({ name: Paid.eventName, payload: { invoice: 'inv-1' } });
    const transport = new InProcessTransport({ broker });
    await transport.start();
    const outcomes = await transport.publish([message, message, message, message]);
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    await broker.whenIdle();
    expect(handled).toEqual(['inv-1']);
    expect(duplicates).toEqual([message.id, message.id, message.id]);
    const entries = await logs[0]!.inbox.list({});
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ messageId: message.id, status: 'processed' });
  });

  it('a handler that keeps failing is retried from the inbox, then dead-lettered with its last error', async () => {
    const Risky = defineEvent<{ id: string }>(uniqueEventName('risky'));
    const broker = new InProcessBroker();
    let attempts = 0;
    const dead: string[] = [];
    const log = eventLog();
    const consumer = bus('billing', broker, log)
      .handle(Risky, async () => {
        attempts++;
        throw new Error(`attempt ${attempts} failed`);
      })
      .build();
    consumer.on('dead-lettered', (event) => dead.push(event.reason));
    const producer = bus(
      'ordering',
      broker,
      eventLog({ collections: { outbox: 'o_outbox', inbox: 'o_inbox' } }),
    ).build();
    await start(consumer, producer);
    await producer.publish(new Risky({ id: 'r-1' }));
    await waitFor(() => dead.length > 0, 'the dead letter', 20_000);
    // (localRetryTimes + 1) fresh attempts, then maxRetryTimes stored retries of one attempt each.
    expect(attempts).toBe(2 + 2);
    const [entry] = await log.inbox.list({ status: 'dead' });
    expect(entry?.lastError).toBe(`Error: attempt ${attempts} failed`);
    expect(entry?.attempts).toBe(3);
    expect(entry?.message?.id).toBeDefined();
    expect(await log.inbox.requeue([entry!], new Date())).toBe(1);
  });

  it('a send the transport refuses is retried from the outbox, then dead-lettered with its last error', async () => {
    const Poison = defineEvent<{ id: string }>(uniqueEventName('poison'));
    const broker = new InProcessBroker();
    let refusals = 0;
    class RefusingTransport extends InProcessTransport {
      override async publish(messages: readonly WireMessage[]): Promise<PublishOutcome[]> {
        return messages.map((message) => ({
          id: message.id,
          ok: false,
          error: new Error(`refusal ${++refusals}`),
        }));
      }
    }
    const log = eventLog();
    const producer = bus('ordering', broker, log, new RefusingTransport({ broker })).build();
    const dead: string[] = [];
    producer.on('dead-lettered', (event) => dead.push(event.messageId ?? ''));
    await start(producer);
    await producer.publish(new Poison({ id: 'p-1' }));
    await waitFor(() => dead.length > 0, 'the dead letter', 20_000);
    const [record] = await log.outbox.list({ status: 'dead' });
    expect(record?.attempts).toBe(3);
    expect(record?.lastError).toBe(`Error: refusal ${refusals}`);
    expect(await log.outbox.requeue([record!.message.id], new Date())).toBe(1);
  });
});
