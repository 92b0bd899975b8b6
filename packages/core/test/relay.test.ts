import { afterEach, describe, expect, it } from 'vitest';
import {
  type BusEventMap,
  createIntegrationEventBus,
  type DistributedLock,
  defineEvent,
  type HeraldOptions,
  InProcessBroker,
  InProcessTransport,
  type IntegrationEventBus,
  type Logger,
  MemoryLock,
  memoryEventLog,
  type PublishOutcome,
  silentLogger,
  TransportError,
  type WireMessage,
} from '../src/index.js';
import { Monitor } from '../src/monitoring.js';
import { defaultOptions } from '../src/options.js';
import { OutboxRelay } from '../src/relay.js';
import { eventually, lockTakenByNewerHolder, testBuilder, warningLogger } from './helpers.js';

const Ping = defineEvent<{ n: number }>('ping');

/** An in-process transport whose broker refuses messages while `down` is true. */
class FlakyTransport extends InProcessTransport {
  down = false;
  rejectIds = new Set<number>();
  attempts = 0;
  override async publish(messages: readonly WireMessage[]): Promise<PublishOutcome[]> {
    this.attempts += messages.length;
    if (this.down) throw new Error('connection refused');
    const outcomes = await super.publish(messages.filter((m) => !this.rejectIds.has(nOf(m))));
    return messages.map(
      (m) =>
        outcomes.find((o) => o.id === m.id) ?? { id: m.id, ok: false, error: new Error('nacked by broker') },
    );
  }
}
/** A FlakyTransport whose health check tells the truth: disconnected while `down`. */
class FlakyTransportWithHealth extends FlakyTransport {
  /** Tries per message id while down. */
  readonly tries = new Map<string, number>();
  async health(): Promise<{ connected: boolean; detail?: string }> {
    return this.down ? { connected: false, detail: 'connection refused' } : { connected: true };
  }
  override async publish(messages: readonly WireMessage[]): Promise<PublishOutcome[]> {
    if (this.down) {
      this.attempts += messages.length;
      for (const m of messages) this.tries.set(m.id, (this.tries.get(m.id) ?? 0) + 1);
      throw new TransportError('broker unreachable: connection refused');
    }
    return super.publish(messages);
  }
}

function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

const idsOfStatus = (records: readonly { status: string }[]) => records.map((record) => record.status);
const nOf = (m: WireMessage) => JSON.parse(new TextDecoder().decode(m.body)).n as number;

const running: IntegrationEventBus[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((bus) => bus.stop()));
});

function events<K extends keyof BusEventMap>(bus: IntegrationEventBus, name: K): BusEventMap[K][] {
  const seen: BusEventMap[K][] = [];
  bus.on(name, (event) => seen.push(event));
  return seen;
}

/**
 * Starts a receiver of the pings on `broker`, then `sender` (both stopped after the test);
 * returns the receiver and `got`, the `n` of each ping it handles, in order of arrival.
 */
async function startWithReceiver(
  sender: IntegrationEventBus,
  broker: InProcessBroker,
): Promise<{ receiver: IntegrationEventBus; got: number[] }> {
  const got: number[] = [];
  const receiver = testBuilder('receiver', broker)
    .handle(Ping, async (e) => void got.push(e.n))
    .build();
  running.push(sender, receiver);
  await receiver.start();
  await sender.start();
  return { receiver, got };
}

/**
 * A producer on `log` that polls only every 10 s, and a receiver of its pings, both running: what
 * the producer relays within a test's few seconds was found by a wake-up or a look, not a poll.
 */
async function startWithSlowPolling(
  log: ReturnType<typeof memoryEventLog>,
): Promise<{ producer: IntegrationEventBus; received: number[] }> {
  const broker = new InProcessBroker();
  const producer = testBuilder('svc', broker).useEventLog(log).configure({ pollingInterval: 10_000 }).build();
  const { got } = await startWithReceiver(producer, broker);
  return { producer, received: got };
}

/**
 * A sender on a `Transport` over a fresh broker and a receiver of the pings on that broker, both
 * running; then the broker goes down (`transport.down`) and the sender publishes pings 0 to 19,
 * which stay in its outbox (`log`) while `got` stays empty. `options` are the sender's relay
 * settings on top of one local retry 5 ms apart and a 500 ms minimum retry interval.
 */
async function publishDuringOutage<T extends FlakyTransport>(
  Transport: new (options: { broker: InProcessBroker }) => T,
  options: Partial<HeraldOptions>,
  logger: Logger = silentLogger,
) {
  const broker = new InProcessBroker();
  const transport = new Transport({ broker });
  const log = memoryEventLog();
  const sender = createIntegrationEventBus({ service: 'sender', logger })
    .useTransport(transport)
    .useEventLog(log)
    .configure({ localRetryTimes: 1, localFailedRetryInterval: 5, minimumRetryInterval: 500, ...options })
    .build();
  const { got } = await startWithReceiver(sender, broker);
  transport.down = true;
  for (let n = 0; n < 20; n++) await sender.publish(new Ping({ n }));
  return { transport, log, got, sender };
}

describe('outbox relay', () => {
  it('keeps records through a broker outage and sends them once it is back', async () => {
    const { transport, log, got, sender } = await publishDuringOutage(FlakyTransport, {
      failedRetryInterval: 30,
      retryBackoff: () => 30,
      maxRetryTimes: 50,
      pollingInterval: 50,
    });
    await eventually(() => transport.attempts > 40);
    expect(got).toEqual([]);
    expect((await log.outbox.list({ status: 'failed' })).length).toBeGreaterThan(0);
    transport.down = false;
    await eventually(() => got.length === 20, 5000);
    expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await sender.drain();
    expect(await log.outbox.list({ status: 'published', limit: 100 })).toHaveLength(20);
  });

  it('counts no attempt while the transport says the broker is out: nothing is dead-lettered however long the outage, and the outage is logged once', async () => {
    const { logger, lines } = recordingLogger();
    const { transport, log, got, sender } = await publishDuringOutage(
      FlakyTransportWithHealth,
      {
        failedRetryInterval: 10,
        retryBackoff: () => 10,
        maxRetryTimes: 1, // without the outage rule every record would be dead after two passes
        pollingInterval: 20,
      },
      logger,
    );
    // The relays keep probing through the outage, one at a time, with a growing pause (100 ms,
    // doubling); three tries of one record would have dead-lettered it without the rule.
    await eventually(() => Math.max(...transport.tries.values()) >= 3, 8000);
    const records = await log.outbox.list({});
    expect(records.map((record) => [record.status, record.attempts])).toEqual(
      records.map(() => ['pending', 0]),
    );
    expect((await sender.health()).ready).toBe(false);
    transport.down = false;
    await eventually(() => got.length === 20, 10_000);
    expect([...got].sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    const loud = lines.filter((line) => line.startsWith('error') || line.startsWith('warn'));
    expect(loud).toEqual([
      'error Broker unavailable; outbox records stay pending (no attempt counted) and the relay probes with a growing pause',
      expect.stringMatching(/^warn Broker available again after \d+\.\d s; the outbox relay continues$/),
    ]);
  }, 20_000);

  it('counts attempts when the broker is up but refuses the messages (their fault, not an outage)', async () => {
    const broker = new InProcessBroker();
    const transport = new FlakyTransportWithHealth({ broker });
    transport.rejectIds.add(0);
    const log = memoryEventLog();
    const sender = createIntegrationEventBus({ service: 'sender', logger: silentLogger })
      .useTransport(transport)
      .useEventLog(log)
      .configure({
        localRetryTimes: 0,
        failedRetryInterval: 10,
        retryBackoff: () => 10,
        maxRetryTimes: 1,
        pollingInterval: 20,
      })
      .build();
    running.push(sender);
    await sender.start();
    await sender.publish(new Ping({ n: 0 }));
    let dead = 0;
    const deadline = Date.now() + 5000;
    while (dead === 0 && Date.now() < deadline) {
      dead = (await log.outbox.list({ status: 'dead' })).length;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(dead).toBe(1);
  });

  it('dead-letters a record the broker keeps rejecting, with the last error, and lets others through', async () => {
    const broker = new InProcessBroker();
    const transport = new FlakyTransport({ broker });
    transport.rejectIds.add(13);
    const log = memoryEventLog();
    const sender = createIntegrationEventBus({ service: 'sender', logger: silentLogger })
      .useTransport(transport)
      .useEventLog(log)
      .configure({
        localRetryTimes: 2,
        localFailedRetryInterval: 1,
        failedRetryInterval: 5,
        retryBackoff: () => 5,
        maxRetryTimes: 3,
        pollingInterval: 50,
        minimumRetryInterval: 500,
      })
      .build();
    const dead = events(sender, 'dead-lettered');
    const failed = events(sender, 'failed');
    const { receiver, got } = await startWithReceiver(sender, broker);
    await sender.publish([12, 13, 14].map((n) => new Ping({ n })));
    await eventually(() => dead.length === 1);
    expect(failed.filter((f) => f.stage === 'publish')).toHaveLength(12); // (1 + 2 local) × (1 + 3 persistent)
    const [record] = await log.outbox.list({ status: 'dead' });
    expect(record!.lastError).toContain('nacked by broker');
    expect(record!.attempts).toBe(4);
    await receiver.drain();
    expect(got.sort()).toEqual([12, 14]);
  });

  it('never lets two relays with a shared lock send the same record', async () => {
    const broker = new InProcessBroker();
    const log = memoryEventLog();
    const lock = new MemoryLock();
    const seen = new Map<number, number>();
    const receiver = testBuilder('receiver', broker)
      .handle(Ping, async (e) => void seen.set(e.n, (seen.get(e.n) ?? 0) + 1))
      .build();
    const sent: string[] = [];
    const relays = [1, 2, 3].map(() => {
      const bus = testBuilder(`relay`, broker)
        .useEventLog(log)
        .useLock(lock)
        .configure({ distributedLockWaitDuration: 20 })
        .build();
      bus.on('sent', (e) => sent.push(e.messageId));
      return bus;
    });
    running.push(receiver, ...relays);
    await receiver.start();
    for (const relay of relays) await relay.start();
    for (let batch = 0; batch < 10; batch++) {
      await relays[batch % 3]!.publish(Array.from({ length: 50 }, (_, k) => new Ping({ n: batch * 50 + k })));
    }
    await eventually(() => seen.size === 500, 5000);
    expect(sent).toHaveLength(500);
    expect(new Set(sent).size).toBe(500);
  });

  it('with the lock too, a store with claimLocked is claimed with row locks, and a record waiting for a local retry is never resent', async () => {
    const broker = new InProcessBroker();
    const transport = new FlakyTransport({ broker });
    transport.rejectIds.add(13);
    const tries = new Map<number, number>();
    const publish = transport.publish.bind(transport);
    transport.publish = (messages) => {
      for (const m of messages) tries.set(nOf(m), (tries.get(nOf(m)) ?? 0) + 1);
      return publish(messages);
    };
    const log = memoryEventLog();
    const claims: string[] = [];
    const claim = log.outbox.claim.bind(log.outbox);
    log.outbox.claim = (request) => {
      claims.push(request.exclusive ? 'exclusive' : 'leased');
      return claim(request);
    };
    const claimLocked = log.outbox.claimLocked!.bind(log.outbox);
    log.outbox.claimLocked = (request, send) => {
      claims.push(request.exclusive ? 'exclusive' : 'locked');
      return claimLocked(request, send);
    };
    const sender = createIntegrationEventBus({ service: 'sender', logger: silentLogger })
      .useTransport(transport)
      .useEventLog(log)
      .useLock(new MemoryLock())
      .configure({ localRetryTimes: 2, localFailedRetryInterval: 60, maxRetryTimes: 0, pollingInterval: 5 })
      .build();
    const dead = events(sender, 'dead-lettered');
    running.push(sender);
    await sender.start();
    await sender.publish([12, 13, 14].map((n) => new Ping({ n })));
    await eventually(() => dead.length === 1);
    // Row-locked claims only (a lock can overlap another holder's; row locks and leases cannot).
    // During the 2 × 60 ms of local retries record 13 stayed leased: no claim handed it out again.
    expect(claims.length).toBeGreaterThan(3);
    expect(new Set(claims)).toEqual(new Set(['locked']));
    expect(tries.get(13)).toBe(3);
    expect([tries.get(12), tries.get(14)]).toEqual([1, 1]);
    expect(idsOfStatus(await log.outbox.list({ limit: 10 }))).toEqual(['published', 'dead', 'published']);
  });

  it('claims and publishes the next locked batch while the previous one awaits its confirms, keeping per-key order; stop waits for both', async () => {
    const broker = new InProcessBroker();
    const Keyed = defineEvent<{ n: number }>('keyed-ping');
    /** Publishes whose confirms are held until `open`: what the relay sees while a broker confirms. */
    class SlowConfirms extends InProcessTransport {
      readonly calls: string[][] = [];
      readonly #held: Array<() => void> = [];
      #open = false;
      override async publish(messages: readonly WireMessage[]): Promise<PublishOutcome[]> {
        this.calls.push(messages.map((m) => m.orderingKey ?? '-'));
        if (!this.#open) await new Promise<void>((resolve) => this.#held.push(resolve));
        return super.publish(messages);
      }
      open(): void {
        this.#open = true;
        for (const release of this.#held.splice(0)) release();
      }
    }
    const transport = new SlowConfirms({ broker });
    const log = memoryEventLog();
    const got: number[] = [];
    const receiver = testBuilder('receiver', broker)
      .handle(Keyed, async (e) => void got.push(e.n))
      .build();
    const producer = testBuilder('producer', broker).useEventLog(log, { sending: false }).build();
    const sender = createIntegrationEventBus({ service: 'sender', logger: silentLogger })
      .useTransport(transport)
      .useEventLog(log)
      .useLock(new MemoryLock())
      .configure({ batchSize: 4, pollingInterval: 20 })
      .build();
    running.push(receiver, producer, sender);
    await receiver.start();
    await producer.start();
    // Even n carry key "k": while the first batch holds k's 0, k's later records must wait for it.
    for (let n = 0; n < 12; n++)
      await producer.publish(new Keyed({ n }), n % 2 === 0 ? { orderingKey: 'k' } : {});
    await sender.start();
    // A second batch is in the transport while the first still waits for its confirms.
    try {
      await eventually(() => transport.calls.length === 2, 5000);
      // One record of a key per claim; the second claim skips the first's locked rows and all of k.
      expect(transport.calls[0]).toEqual(['k', '-', '-', '-']);
      expect(transport.calls[1]).toEqual(['-', '-', '-']);
    } finally {
      transport.open();
    }
    await eventually(() => got.length === 12, 5000);
    expect(got.filter((n) => n % 2 === 0)).toEqual([0, 2, 4, 6, 8, 10]);
    await sender.stop();
    expect(idsOfStatus(await log.outbox.list({ limit: 20 }))).toEqual(Array(12).fill('published'));
  });

  it('is not idle while a committed batch may have released records of its keys: whenIdle waits for them to be sent', async () => {
    const broker = new InProcessBroker();
    const Keyed = defineEvent<{ n: number }>('keyed-idle');
    /** Holds the first publish until `open()`. */
    class HeldFirst extends InProcessTransport {
      calls = 0;
      #release: (() => void) | undefined;
      override async publish(messages: readonly WireMessage[]): Promise<PublishOutcome[]> {
        if (++this.calls === 1) await new Promise<void>((resolve) => (this.#release = resolve));
        return super.publish(messages);
      }
      open(): void {
        this.#release?.();
      }
    }
    const transport = new HeldFirst({ broker });
    await transport.start();
    const log = memoryEventLog();
    const producer = testBuilder('producer', broker).useEventLog(log, { sending: false }).build();
    running.push(producer);
    await producer.start();
    for (const n of [1, 2]) await producer.publish(new Keyed({ n }), { orderingKey: 'k' });
    const relay = new OutboxRelay({
      config: {
        name: 'default',
        outbox: log.outbox,
        inbox: undefined,
        selector: () => true,
        handlerSelector: () => true,
        inboxEventSelector: () => true,
        sending: true,
        processing: false,
        tenants: undefined,
      },
      transport,
      // No polling: only wake-ups move the relay, so an early "idle" would stay wrong.
      options: { ...defaultOptions(), batchSize: 1, pollingInterval: 60_000 },
      monitor: new Monitor(silentLogger),
      logger: silentLogger,
      owner: 'test',
    });
    relay.start();
    try {
      // Record 1 is in flight; record 2 (same key) waits for it to be marked.
      await eventually(() => transport.calls === 1, 5000);
      const idle = relay.whenIdle();
      transport.open();
      await idle;
      expect(idsOfStatus(await log.outbox.list({ limit: 10 }))).toEqual(['published', 'published']);
    } finally {
      transport.open();
      await relay.stop();
      await transport.stop();
    }
  });

  it('with the lock, a store without claimLocked is claimed exclusively and fenced, and a record waiting for a local retry is never resent', async () => {
    const broker = new InProcessBroker();
    const transport = new FlakyTransport({ broker });
    transport.rejectIds.add(13);
    const tries = new Map<number, number>();
    const publish = transport.publish.bind(transport);
    transport.publish = (messages) => {
      for (const m of messages) tries.set(nOf(m), (tries.get(nOf(m)) ?? 0) + 1);
      return publish(messages);
    };
    const log = memoryEventLog();
    // As SQLite and MongoDB: no row locks held while the broker confirms.
    (log.outbox as { claimLocked?: unknown }).claimLocked = undefined;
    const claims: string[] = [];
    const claim = log.outbox.claim.bind(log.outbox);
    log.outbox.claim = (request) => {
      claims.push(`${request.exclusive ? 'exclusive' : 'leased'}${request.fence ? ' fenced' : ''}`);
      return claim(request);
    };
    const sender = createIntegrationEventBus({ service: 'sender', logger: silentLogger })
      .useTransport(transport)
      .useEventLog(log)
      .useLock(new MemoryLock())
      .configure({ localRetryTimes: 2, localFailedRetryInterval: 60, maxRetryTimes: 0, pollingInterval: 5 })
      .build();
    const dead = events(sender, 'dead-lettered');
    running.push(sender);
    await sender.start();
    await sender.publish([12, 13, 14].map((n) => new Ping({ n })));
    await eventually(() => dead.length === 1);
    // No lease written; record 13 came back from every claim during its local retries, unleased,
    // and the relay left it out rather than sending it again.
    expect(claims.length).toBeGreaterThan(3);
    expect(new Set(claims)).toEqual(new Set(['exclusive fenced']));
    expect(tries.get(13)).toBe(3);
    expect([tries.get(12), tries.get(14)]).toEqual([1, 1]);
    expect(idsOfStatus(await log.outbox.list({ limit: 10 }))).toEqual(['published', 'dead', 'published']);
  });

  it('without a lock, relays claim with row locks (claimLocked) and never send one record twice', async () => {
    const broker = new InProcessBroker();
    const log = memoryEventLog();
    let leasingClaims = 0;
    const claim = log.outbox.claim.bind(log.outbox);
    log.outbox.claim = (request) => {
      if (!request.exclusive) leasingClaims++;
      return claim(request);
    };
    const seen = new Map<number, number>();
    const receiver = testBuilder('receiver', broker)
      .handle(Ping, async (e) => void seen.set(e.n, (seen.get(e.n) ?? 0) + 1))
      .build();
    const sent: string[] = [];
    const relays = [1, 2, 3].map(() => {
      const bus = testBuilder('relay', broker).useEventLog(log).build();
      bus.on('sent', (e) => sent.push(e.messageId));
      return bus;
    });
    running.push(receiver, ...relays);
    await receiver.start();
    for (const relay of relays) await relay.start();
    for (let batch = 0; batch < 10; batch++) {
      await relays[batch % 3]!.publish(Array.from({ length: 50 }, (_, k) => new Ping({ n: batch * 50 + k })));
    }
    await eventually(() => seen.size === 500, 5000);
    expect(sent).toHaveLength(500);
    expect(new Set(sent).size).toBe(500);
    expect([...seen.values()].every((count) => count === 1)).toBe(true);
    expect(leasingClaims, 'no row was leased: claimLocked did every claim').toBe(0);
  });

  it('without a lock, a record waiting for a local retry stays leased: another relay does not send it meanwhile', async () => {
    const broker = new InProcessBroker();
    const log = memoryEventLog();
    const got: number[] = [];
    const receiver = testBuilder('receiver', broker)
      .handle(Ping, async (e) => void got.push(e.n))
      .build();
    const transports = [new FlakyTransport({ broker }), new FlakyTransport({ broker })];
    const sent: string[] = [];
    const relays = transports.map((transport) => {
      transport.down = true;
      const bus = createIntegrationEventBus({ service: 'sender', logger: silentLogger })
        .useTransport(transport)
        .useEventLog(log)
        .configure({
          localRetryTimes: 2,
          localFailedRetryInterval: 30,
          failedRetryInterval: 30,
          retryBackoff: () => 30,
          maxRetryTimes: 50,
          pollingInterval: 10,
          minimumRetryInterval: 5_000,
        })
        .build();
      bus.on('sent', (e) => sent.push(e.messageId));
      return bus;
    });
    running.push(receiver, ...relays);
    await receiver.start();
    for (const relay of relays) await relay.start();
    await relays[0]!.publish(Array.from({ length: 30 }, (_, n) => new Ping({ n })));
    await eventually(() => transports[0]!.attempts + transports[1]!.attempts >= 90);
    for (const transport of transports) transport.down = false;
    await eventually(() => got.length === 30, 5000);
    await Promise.all(relays.map((relay) => relay.drain()));
    expect(sent).toHaveLength(30);
    expect(new Set(sent).size).toBe(30);
  });

  it('a relay whose fencing token is older than one the store has seen sends nothing, lets go of its lock, and relays once it holds a current token', async () => {
    const broker = new InProcessBroker();
    const log = memoryEventLog();
    // A newer holder (token 3) claimed before this replica's first lease: tokens 1 and 2 are stale.
    const { lock, tokens } = lockTakenByNewerHolder(log, 'outbox');
    const { logger, warnings } = warningLogger();
    const seen: number[] = [];
    const receiver = testBuilder('receiver', broker)
      .handle(Ping, async (e) => void seen.push(e.n))
      .build();
    const sender = createIntegrationEventBus({ service: 'sender', logger })
      .useTransport(new InProcessTransport({ broker }))
      .useEventLog(log)
      .useLock(lock)
      .configure({ distributedLockWaitDuration: 10, pollingInterval: 10 })
      .build();
    const sentUnder: bigint[] = [];
    sender.on('sent', () => void sentUnder.push(tokens.at(-1)!));
    running.push(receiver, sender);
    await receiver.start();
    await sender.start();
    await sender.publish([1, 2, 3].map((n) => new Ping({ n })));
    await eventually(() => seen.length === 3, 5000);

    expect(tokens.slice(0, 3), 'the relay let go of each stale lease and took the lock again').toEqual([
      1n,
      2n,
      3n,
    ]);
    expect(warnings.filter((warning) => warning.includes('StaleFencingTokenError'))).toHaveLength(2);
    expect(sentUnder, 'sent only under the current token').toEqual([3n, 3n, 3n]);
    expect(seen.sort()).toEqual([1, 2, 3]);
  });

  it('a record waiting for a local retry when the lock is lost is not retried by this relay: it waits for its lease, then the next claim sends it', async () => {
    const broker = new InProcessBroker();
    const transport = new FlakyTransport({ broker });
    const attempts = new Map<number, number[]>();
    const publish = transport.publish.bind(transport);
    let failedOnce = false;
    transport.publish = async (messages) => {
      for (const m of messages) attempts.set(nOf(m), [...(attempts.get(nOf(m)) ?? []), Date.now()]);
      if (!failedOnce && messages.some((m) => nOf(m) === 13)) {
        failedOnce = true;
        loseLease = true; // the lock is lost right after this batch
        return messages.map((m) => ({ id: m.id, ok: false, error: new Error('nacked by broker') }));
      }
      return publish(messages);
    };
    const memoryLock = new MemoryLock();
    let loseLease = false;
    const lock: DistributedLock = {
      name: 'memory-losing',
      async acquire(key, ttlMs) {
        const lease = await memoryLock.acquire(key, ttlMs);
        if (!lease || !key.startsWith('herald:outbox:')) return lease;
        return {
          key: lease.key,
          fencingToken: lease.fencingToken,
          get expiresAt() {
            return lease.expiresAt;
          },
          async extend(ms: number) {
            if (loseLease) {
              loseLease = false;
              return false;
            }
            return lease.extend(ms);
          },
          release: () => lease.release(),
        };
      },
    };
    const log = memoryEventLog();
    const sender = createIntegrationEventBus({ service: 'sender', logger: silentLogger })
      .useTransport(transport)
      .useEventLog(log)
      .useLock(lock)
      .configure({
        distributedLockTtl: 150,
        distributedLockWaitDuration: 10,
        localRetryTimes: 2,
        localFailedRetryInterval: 200,
        minimumRetryInterval: 600,
        pollingInterval: 20,
      })
      .build();
    const sent: number[] = [];
    sender.on('sent', (e) => void sent.push(nOf(e.message)));
    running.push(sender);
    await sender.start();
    await sender.publish([new Ping({ n: 13 })]);
    await eventually(() => sent.length === 1, 5000);
    const tries = attempts.get(13)!;
    // Without the check, the local retry would have sent it again 200 ms after the failure.
    expect(tries).toHaveLength(2);
    expect(tries[1]! - tries[0]!, 'the second send waited for the lease').toBeGreaterThanOrEqual(500);
    expect(sent).toEqual([13]);
  });

  it('hands over to another replica when the lock holder stops', async () => {
    const broker = new InProcessBroker();
    const log = memoryEventLog();
    const lock = new MemoryLock();
    const got: number[] = [];
    const receiver = testBuilder('receiver', broker)
      .handle(Ping, async (e) => void got.push(e.n))
      .build();
    const first = testBuilder('relay', broker)
      .useEventLog(log)
      .useLock(lock)
      .configure({ distributedLockWaitDuration: 20, distributedLockTtl: 200 })
      .build();
    const second = testBuilder('relay', broker)
      .useEventLog(log)
      .useLock(lock)
      .configure({ distributedLockWaitDuration: 20, distributedLockTtl: 200 })
      .build();
    const firstSent = events(first, 'sent');
    const secondSent = events(second, 'sent');
    running.push(receiver, second);
    await receiver.start();
    await first.start();
    await new Promise((resolve) => setTimeout(resolve, 30));
    await second.start();
    await first.publish(new Ping({ n: 1 }));
    await eventually(() => got.length === 1);
    await first.stop();
    await second.publish(new Ping({ n: 2 }));
    await eventually(() => got.length === 2, 3000);
    expect(firstSent.length + secondSent.length).toBe(2);
    expect(secondSent.map((s) => s.eventName)).toContain('ping');
  });

  it("takes over a killed replica's shards once its lock leases lapse, sending each record once", async () => {
    const broker = new InProcessBroker();
    const log = memoryEventLog();
    const lock = new MemoryLock();
    const ttl = 300;
    let killed = false;
    // A killed process neither extends nor releases its leases: they lapse after the TTL.
    const dyingLock: DistributedLock = {
      name: 'dying',
      async acquire(key, ttlMs) {
        const lease = killed ? null : await lock.acquire(key, ttlMs);
        if (!lease) return null;
        return {
          key: lease.key,
          fencingToken: lease.fencingToken,
          expiresAt: lease.expiresAt,
          extend: (ms) => (killed ? Promise.resolve(true) : lease.extend(ms)),
          release: () => (killed ? Promise.resolve() : lease.release()),
        };
      },
    };
    const received: number[] = [];
    const receiver = testBuilder('receiver', broker)
      .handle(Ping, async (e) => void received.push(e.n))
      .build();
    const sentIds: string[] = [];
    const replica = (lockOf: DistributedLock) => {
      const bus = testBuilder('relay', broker)
        .useEventLog(log)
        .useLock(lockOf)
        .configure({ relayShards: 4, distributedLockTtl: ttl, distributedLockWaitDuration: 20 })
        .build();
      bus.on('sent', (e) => sentIds.push(e.messageId));
      return bus;
    };
    const dying = replica(dyingLock);
    running.push(receiver, dying);
    await receiver.start();
    await dying.start();
    await dying.publish(Array.from({ length: 20 }, (_, n) => new Ping({ n })));
    await eventually(() => received.length === 20, 5000);

    killed = true;
    await dying.stop();
    const killedAt = Date.now();
    const survivor = replica(lock);
    running.push(survivor);
    await survivor.start();
    await survivor.publish(Array.from({ length: 40 }, (_, n) => new Ping({ n: 20 + n })));
    await eventually(() => received.length === 60, 5000);
    const takeoverMs = Date.now() - killedAt;
    // Every shard was still leased to the dead replica: nothing moves before its leases lapse.
    expect(takeoverMs).toBeGreaterThanOrEqual(ttl - 50);
    // Lapse, the survivor's retry interval and its fair-start pauses (100 ms per shard held), with slack.
    expect(takeoverMs).toBeLessThan(ttl + 20 + 4 * 200 + 1_000);
    expect(new Set(sentIds).size).toBe(60);
    expect(sentIds).toHaveLength(60);
  });

  it('spreads outbox shards over replicas, keeping per-key order and sending each record once', async () => {
    const broker = new InProcessBroker();
    const log = memoryEventLog();
    const lock = new MemoryLock();
    const Keyed = defineEvent<{ key: string; n: number }>('keyed');
    const perKey = new Map<string, number[]>();
    const receiver = testBuilder('receiver', broker)
      .handle(Keyed, async (e) => {
        perKey.set(e.key, [...(perKey.get(e.key) ?? []), e.n]);
      })
      .build();
    const sentBy = new Map<string, number>();
    const sentIds: string[] = [];
    const replicas = [0, 1, 2, 3].map((r) => {
      const bus = testBuilder('relay', broker)
        .useEventLog(log)
        .useLock(lock)
        .configure({ relayShards: 8, shardTenure: 40, distributedLockWaitDuration: 10, batchSize: 20 })
        .build();
      bus.on('sent', (e) => {
        sentIds.push(e.messageId);
        sentBy.set(`r${r}`, (sentBy.get(`r${r}`) ?? 0) + 1);
      });
      return bus;
    });
    running.push(receiver, ...replicas);
    await receiver.start();
    for (const replica of replicas) await replica.start();
    for (let n = 0; n < 40; n++) {
      for (let k = 0; k < 25; k++) {
        await replicas[(n + k) % 4]!.publish(new Keyed({ key: `k${k}`, n }), { orderingKey: `k${k}` });
      }
    }
    await eventually(() => [...perKey.values()].reduce((sum, list) => sum + list.length, 0) === 1000, 10_000);
    for (const list of perKey.values()) expect(list).toEqual([...list].sort((a, b) => a - b));
    expect(new Set(sentIds).size).toBe(1000);
    expect(sentIds).toHaveLength(1000);
    expect(sentBy.size).toBeGreaterThan(1);
  });

  it('deletes expired published records in batches', async () => {
    const log = memoryEventLog();
    const bus = testBuilder('svc')
      .useEventLog(log)
      .configure({ deleteBatchCount: 7, publishedExpireTime: 0 })
      .build();
    running.push(bus);
    await bus.start();
    await bus.publish(Array.from({ length: 30 }, (_, n) => new Ping({ n })));
    await bus.drain();
    expect(await log.outbox.list({ status: 'published', limit: 100 })).toHaveLength(30);
    const deleted = await bus.cleanupNow(new Date(Date.now() + 1000));
    expect(deleted).toBe(30);
    expect(await log.outbox.list({ limit: 100 })).toHaveLength(0);
  });

  it('after a publish inside an open transaction, looks a few times for its commit, unless the store wakes the relay on commit', async () => {
    /** Claims of a relay (10 s polling) while a transaction that published stays open for 300 ms. */
    async function claimsWhileOpen(wakesOnCommit: boolean) {
      const log = memoryEventLog();
      let claims = 0;
      const claimLocked = log.outbox.claimLocked!.bind(log.outbox);
      log.outbox.claimLocked = async (request, send) => {
        claims++;
        return claimLocked(request, send);
      };
      // The memory store wakes the relay at the commit itself (like PostgreSQL's with LISTEN/NOTIFY).
      // Without wakesOnCommit, the relay cannot count on that and looks for the commit meanwhile.
      if (!wakesOnCommit) Object.assign(log.outbox, { wakesOnCommit: undefined });
      const { producer, received } = await startWithSlowPolling(log);
      await eventually(() => claims > 0); // the first look at start
      claims = 0;
      await log.database.transaction(async (tx) => {
        await producer.publish(new Ping({ n: 1 }), { tx });
        await new Promise((resolve) => setTimeout(resolve, 300));
      });
      const whileOpen = claims;
      await eventually(() => received.length === 1, 2_000);
      return whileOpen;
    }
    // The record commits only after every nudge (0, 2, 10, 50, 200 ms): each finds nothing.
    expect(await claimsWhileOpen(false)).toBeGreaterThanOrEqual(4);
    expect(await claimsWhileOpen(true)).toBe(0);
  });

  it("counts on the store's commit signal only when it subscribed to it (onWake)", async () => {
    const log = memoryEventLog();
    // A store that says it wakes on commit but offers no onWake: nothing would ever wake the relay.
    Object.assign(log.outbox, { onWake: undefined });
    const { producer, received } = await startWithSlowPolling(log);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the first look found nothing
    await log.database.transaction(async (tx) => {
      await producer.publish(new Ping({ n: 1 }), { tx });
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
    // Found by the looks after the publish (the last at 200 ms), not the 10 s poll.
    await eventually(() => received.length === 1, 2_000);
    await producer.publish(new Ping({ n: 2 }));
    await eventually(() => received.length === 2, 2_000);
  });

  it('after a partial locked batch, claims again only once it committed (nothing else was claimable), and at once after a full one', async () => {
    const log = memoryEventLog();
    /** What happened, in order: `claim:N` (a batch of N handed over), `commit:N` (its transaction ends). */
    const steps: string[] = [];
    let looks = 0;
    const claimLocked = log.outbox.claimLocked!.bind(log.outbox);
    log.outbox.claimLocked = async (request, send) => {
      looks++;
      return claimLocked(request, async (records) => {
        if (records.length > 0) steps.push(`claim:${records.length}`);
        const result = await send(records);
        await new Promise((resolve) => setTimeout(resolve, 50)); // the batch's transaction stays open a while
        if (records.length > 0) steps.push(`commit:${records.length}`);
        return result;
      });
    };
    const bus = testBuilder('svc')
      .useEventLog(log)
      .configure({ pollingInterval: 10_000, batchSize: 4 })
      .build();
    running.push(bus);
    await bus.start();
    await eventually(() => looks > 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    looks = 0;
    await bus.publish([1, 2, 3].map((n) => new Ping({ n })));
    await eventually(() => steps.includes('commit:3'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // One claim took all three; the look after its commit found nothing. No claim in between.
    expect(looks).toBe(2);
    steps.length = 0;
    await bus.publish([4, 5, 6, 7, 8, 9].map((n) => new Ping({ n })));
    await eventually(() => steps.includes('commit:2'), 2_000);
    // A full batch: maybe more is waiting, so the next claim does not wait for its commit.
    expect(steps).toEqual(['claim:4', 'claim:2', 'commit:4', 'commit:2']);
  });

  it('does no work while idle: no claims beyond the polling interval', async () => {
    const log = memoryEventLog();
    let claims = 0;
    const claim = log.outbox.claim.bind(log.outbox);
    log.outbox.claim = async (request) => {
      claims++;
      return claim(request);
    };
    const claimLocked = log.outbox.claimLocked!.bind(log.outbox);
    log.outbox.claimLocked = async (request, send) => {
      claims++;
      return claimLocked(request, send);
    };
    const bus = testBuilder('svc').useEventLog(log).configure({ pollingInterval: 100 }).build();
    running.push(bus);
    await bus.start();
    await new Promise((resolve) => setTimeout(resolve, 550));
    expect(claims).toBeLessThanOrEqual(7);
    expect(claims).toBeGreaterThanOrEqual(4);
  });
});
