import type { OutboxRecord, OutboxStore, WireMessage } from '@herald/core';
import { expect } from 'vitest';
import { uniqueSuffix } from '../internal/random.js';
import { expectSameMessage, idsOf, RollbackSignal } from './assertions.js';
import { type ConformanceCase, describeCases, runWithFixture } from './case.js';
import { expectStale, fence } from './fencing.js';
import { outboxEntry, testWireMessage, uniqueEventName } from './messages.js';

/** What each outbox case receives: a store over empty tables, and how to open a transaction on its database. */
export interface OutboxStoreFixture {
  /** The store under test. Its tables must be empty (truncate them in `create`). */
  readonly store: OutboxStore;
  /**
   * Runs `work` in a transaction of the store's database, committing when it
   * resolves and rolling back when it rejects; `tx` is what `store.add(…, tx)`
   * accepts. Required when `store.transactional` is true.
   */
  readonly transaction?: <T>(work: (tx: unknown) => Promise<T>) => Promise<T>;
  /** Called after each case (close clients, drop data). */
  readonly cleanup?: () => Promise<void>;
}

/** Options of {@link describeOutboxStoreConformance}. */
export interface OutboxStoreConformanceOptions {
  /** Shown in the vitest `describe` title, e.g. `prisma-postgresql`. */
  readonly name: string;
  /** Creates a fresh fixture for one case. */
  readonly create: () => Promise<OutboxStoreFixture>;
  /** Per-case vitest timeout; default 30 s. */
  readonly timeoutMs?: number;
}

type OutboxCase = ConformanceCase<OutboxStoreFixture>;

const LONG_LEASE = 60_000;
const OWNER = 'testkit-relay';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function clock() {
  const now = new Date();
  return { now, at: (offsetMs: number) => new Date(now.getTime() + offsetMs) };
}

function messages(
  count: number,
  options: { name?: string; key?: (index: number) => string | undefined } = {},
) {
  const name = options.name ?? uniqueEventName('outbox');
  return Array.from({ length: count }, (_, index) => {
    const orderingKey = options.key?.(index);
    return testWireMessage({
      name,
      payload: { index },
      ...(orderingKey !== undefined ? { orderingKey } : {}),
    });
  });
}

async function add(store: OutboxStore, list: readonly WireMessage[], tx?: unknown): Promise<void> {
  await store.add(list.map(outboxEntry), tx);
}

async function claimAll(store: OutboxStore, now: Date, limit = 1000): Promise<OutboxRecord[]> {
  return store.claim({ limit, leaseMs: LONG_LEASE, owner: OWNER, now });
}

async function findRecord(store: OutboxStore, id: string): Promise<OutboxRecord | undefined> {
  return (await store.list({ limit: 10_000 })).find((record) => record.message.id === id);
}

function needsTransaction(fixture: OutboxStoreFixture): OutboxStoreFixture['transaction'] {
  if (fixture.transaction) return fixture.transaction;
  if (fixture.store.transactional) {
    throw new Error(
      'This case needs `transaction` in the fixture, because the store declares transactional: true',
    );
  }
  return undefined;
}

const roundTrip: OutboxCase = {
  name: 'add then claim returns each message exactly (headers, body bytes, ordering key) with a sequence header',
  async run({ store }) {
    const { now } = clock();
    const keyed = testWireMessage({
      name: uniqueEventName('outbox'),
      orderingKey: `order-${uniqueSuffix()}`,
      headers: { 'x-note': 'ünïcödé ✓ "quoted"', 'x-empty': '' },
      payload: { text: 'naïve café 🚀', amount: 12.5, nested: { list: [1, 2, 3] } },
    });
    const unkeyed = testWireMessage({
      name: uniqueEventName('outbox'),
      body: Uint8Array.from([0, 255, 128, 10, 13, 0, 34, 92]),
    });
    await add(store, [keyed, unkeyed]);
    const claimed = await claimAll(store, now);
    expect(idsOf(claimed)).toEqual([keyed.id, unkeyed.id]);
    const [first, second] = claimed as [OutboxRecord, OutboxRecord];
    for (const record of claimed) {
      expect(typeof record.sequence).toBe('number');
      expect(Number.isInteger(record.sequence)).toBe(true);
      expect(record.status).toBe('pending');
      expect(record.attempts).toBe(0);
      expect(record.lastError).toBeNull();
      expect(record.publishedAt).toBeNull();
      expect(record.createdAt).toBeInstanceOf(Date);
    }
    expect(second.sequence).toBeGreaterThan(first.sequence);
    expectSameMessage(first.message, keyed, first.sequence);
    expectSameMessage(second.message, unkeyed, second.sequence);
    expect(first.bucket).toBe(outboxEntry(keyed).bucket);
    expect(second.bucket).toBe(outboxEntry(unkeyed).bucket);
  },
};

const sequenceOrderAndLimit: OutboxCase = {
  name: 'claim returns records in sequence order and respects limit',
  async run({ store }) {
    const { now } = clock();
    const all = messages(10, { key: (i) => (i % 3 === 0 ? undefined : `key-${i}-${uniqueSuffix()}`) });
    await add(store, all.slice(0, 3));
    await add(store, all.slice(3, 7));
    await add(store, all.slice(7));
    const firstBatch = await store.claim({ limit: 4, leaseMs: LONG_LEASE, owner: OWNER, now });
    expect(idsOf(firstBatch)).toEqual(idsOf(all.slice(0, 4)));
    const rest = await claimAll(store, now);
    expect(idsOf(rest)).toEqual(idsOf(all.slice(4)));
    const sequences = [...firstBatch, ...rest].map((record) => record.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(new Set(sequences).size).toBe(10);
  },
};

const leases: OutboxCase = {
  name: 'a leased record is not claimed again until its lease expires',
  async run({ store }) {
    const { now, at } = clock();
    const [message] = messages(1);
    await add(store, [message!]);
    expect(idsOf(await store.claim({ limit: 10, leaseMs: 1_000, owner: 'relay-a', now }))).toEqual([
      message!.id,
    ]);
    expect(await store.claim({ limit: 10, leaseMs: 1_000, owner: 'relay-b', now })).toEqual([]);
    expect(await store.claim({ limit: 10, leaseMs: 1_000, owner: 'relay-b', now: at(900) })).toEqual([]);
    const again = await store.claim({ limit: 10, leaseMs: 1_000, owner: 'relay-b', now: at(1_100) });
    expect(idsOf(again)).toEqual([message!.id]);
    expect(again[0]!.attempts).toBe(0);
  },
};

const concurrentClaims: OutboxCase = {
  name: 'concurrent claims never return the same record twice',
  async run({ store }) {
    const { now } = clock();
    const all = messages(200);
    await add(store, all);
    const seen: string[] = [];
    // Claim in rounds of 5 parallel calls until a round finds nothing: every record is leased by then.
    for (let round = 0; round < 10; round++) {
      const batches = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          store.claim({ limit: 50, leaseMs: LONG_LEASE, owner: `relay-${i}`, now }),
        ),
      );
      const claimed = batches.flatMap((batch) => idsOf(batch));
      if (claimed.length === 0) break;
      seen.push(...claimed);
    }
    const duplicates = seen.filter((id, index) => seen.indexOf(id) !== index);
    expect(duplicates).toEqual([]);
    expect(new Set(seen)).toEqual(new Set(idsOf(all)));
  },
};

function claimExclusive(store: OutboxStore, now: Date, limit = 1000): Promise<OutboxRecord[]> {
  return store.claim({ limit, leaseMs: LONG_LEASE, owner: OWNER, now, exclusive: true });
}

const exclusiveClaimLeasesNothing: OutboxCase = {
  name: 'an exclusive claim leases nothing: a killed relay leaves its batch claimable at once; per-key order and marks hold',
  async run({ store }) {
    const { now } = clock();
    const key = `x-${uniqueSuffix()}`;
    const [k1, k2, free] = messages(3, { key: (i) => (i < 2 ? key : undefined) });
    await add(store, [k1!, k2!, free!]);
    const first = await claimExclusive(store, now);
    expect(idsOf(first), 'k2 waits behind pending k1').toEqual([k1!.id, free!.id]);
    // The relay that claimed died before marking: the next holder of the lock gets the same records.
    expect(idsOf(await claimExclusive(store, now))).toEqual([k1!.id, free!.id]);
    const leasing = await claimAll(store, now);
    expect(idsOf(leasing), 'no lease was written: a leasing claim gets them too').toEqual([k1!.id, free!.id]);
    expect(leasing.map((record) => [record.status, record.attempts])).toEqual([
      ['pending', 0],
      ['pending', 0],
    ]);
    await store.release(idsOf(leasing));
    await store.markPublished([k1!.id, free!.id], now);
    expect(idsOf(await claimExclusive(store, now)), 'k2 flows once k1 is published').toEqual([k2!.id]);
    expect((await findRecord(store, k1!.id))?.status).toBe('published');
  },
};

const exclusiveClaimRespectsLeases: OutboxCase = {
  name: 'an exclusive claim skips records under a live lease and the later records of their keys',
  async run({ store }) {
    const { now, at } = clock();
    const key = `y-${uniqueSuffix()}`;
    const [k1, k2, free] = messages(3, { key: (i) => (i < 2 ? key : undefined) });
    await add(store, [k1!, k2!, free!]);
    expect(idsOf(await store.claim({ limit: 1, leaseMs: 1_000, owner: 'relay-a', now }))).toEqual([k1!.id]);
    expect(idsOf(await claimExclusive(store, now))).toEqual([free!.id]);
    expect(idsOf(await claimExclusive(store, at(1_100))), 'the lease expired').toEqual([k1!.id, free!.id]);
  },
};

const LOCKED_ABSENT = 'the store has no claimLocked (optional): its relays lease each claimed row';

const lockedClaimMarksInItsTransaction: OutboxCase = {
  name: 'claimLocked (optional) holds its records while sending: concurrent claims skip them; it marks what was confirmed and leases what is held, in one transaction',
  async run({ store }, skip) {
    if (!store.claimLocked) return skip?.(LOCKED_ABSENT);
    const { now, at } = clock();
    const key = `l-${uniqueSuffix()}`;
    const [k1, k2, sent, held, later] = messages(5, { key: (i) => (i < 2 ? key : undefined) });
    await add(store, [k1!, k2!, sent!, held!]);
    let concurrent: OutboxRecord[] | undefined;
    const claimed = await store.claimLocked(
      { limit: 3, leaseMs: 1_000, owner: 'relay-a', now },
      async (records) => {
        expect(idsOf(records), 'k2 waits behind k1; the limit holds').toEqual([k1!.id, sent!.id, held!.id]);
        await add(store, [later!]);
        // Another relay claims meanwhile: the locked rows are skipped, k2 still waits behind k1.
        concurrent = await store.claim({ limit: 10, leaseMs: LONG_LEASE, owner: 'relay-b', now });
        return { published: [k1!.id, sent!.id], held: [held!.id] };
      },
    );
    expect(idsOf(claimed)).toEqual([k1!.id, sent!.id, held!.id]);
    expect(idsOf(concurrent ?? []), 'only the record added meanwhile').toEqual([later!.id]);
    expect((await findRecord(store, k1!.id))?.status).toBe('published');
    expect((await findRecord(store, sent!.id))?.publishedAt).toBeInstanceOf(Date);
    const heldRecord = await findRecord(store, held!.id);
    expect([heldRecord?.status, heldRecord?.attempts]).toEqual(['pending', 0]);
    expect(idsOf(await claimAll(store, now)), 'k2 flows; the held record is leased').toEqual([k2!.id]);
    expect(idsOf(await claimAll(store, at(1_100))), 'the held record after its lease').toEqual([held!.id]);
  },
};

const lockedClaimRollsBack: OutboxCase = {
  name: 'claimLocked (optional): when sending fails (a relay killed mid-batch), nothing is marked and the records are claimable at once',
  async run({ store }, skip) {
    if (!store.claimLocked) return skip?.(LOCKED_ABSENT);
    const { now } = clock();
    const all = messages(3);
    await add(store, all);
    await expect(
      store.claimLocked({ limit: 10, leaseMs: LONG_LEASE, owner: 'relay-a', now }, async () => {
        throw new Error('relay died while the broker was confirming');
      }),
    ).rejects.toThrow('relay died');
    const again = await claimAll(store, now);
    expect(idsOf(again)).toEqual(idsOf(all));
    expect(again.map((record) => record.status)).toEqual(['pending', 'pending', 'pending']);
  },
};

const perKeyOrder: OutboxCase = {
  name: 'an unfinished record (pending, failed or leased) blocks later records of its ordering key; other keys flow',
  async run({ store }) {
    const { now, at } = clock();
    const name = uniqueEventName('outbox');
    const a = `a-${uniqueSuffix()}`;
    const b = `b-${uniqueSuffix()}`;
    const [a1, a2, b1, c1] = [
      testWireMessage({ name, orderingKey: a }),
      testWireMessage({ name, orderingKey: a }),
      testWireMessage({ name, orderingKey: b }),
      testWireMessage({ name }),
    ] as [WireMessage, WireMessage, WireMessage, WireMessage];
    await add(store, [a1, a2, b1, c1]);
    expect(idsOf(await claimAll(store, now)), 'a2 waits behind pending a1').toEqual([a1.id, b1.id, c1.id]);
    expect(await claimAll(store, now), 'a2 waits behind leased a1').toEqual([]);

    const b2 = testWireMessage({ name, orderingKey: b });
    await add(store, [b2]);
    expect(await claimAll(store, now), 'b2 waits behind leased b1').toEqual([]);
    await store.markPublished([b1.id, c1.id], now);
    expect(idsOf(await claimAll(store, now)), 'key b flows while key a is blocked').toEqual([b2.id]);

    await store.markFailed([{ id: a1.id, error: 'broker down', nextAttemptAt: at(10_000) }], now);
    expect(await claimAll(store, now), 'a2 waits behind failed a1').toEqual([]);
    expect(idsOf(await claimAll(store, at(10_000))), 'a1 is due; a2 still waits').toEqual([a1.id]);
    await store.markPublished([a1.id], at(10_000));
    expect(idsOf(await claimAll(store, at(10_000)))).toEqual([a2.id]);
  },
};

const failedUntilDue: OutboxCase = {
  name: 'a failed record is not claimable before nextAttemptAt, then is claimable with its attempt counted',
  async run({ store }) {
    const { now, at } = clock();
    const [message] = messages(1);
    await add(store, [message!]);
    await claimAll(store, now);
    await store.markFailed([{ id: message!.id, error: 'transient: timeout', nextAttemptAt: at(5_000) }], now);
    const stored = await findRecord(store, message!.id);
    expect(stored?.status).toBe('failed');
    expect(stored?.nextAttemptAt?.getTime()).toBe(at(5_000).getTime());
    expect(await claimAll(store, now)).toEqual([]);
    expect(await claimAll(store, at(4_000))).toEqual([]);
    const due = await claimAll(store, at(6_000));
    expect(idsOf(due)).toEqual([message!.id]);
    expect(due[0]!.status).toBe('failed');
    expect(due[0]!.attempts).toBe(1);
    expect(due[0]!.lastError).toBe('transient: timeout');
    expectSameMessage(due[0]!.message, message!, due[0]!.sequence);
  },
};

const delayedUntilDue: OutboxCase = {
  name: 'a delayed record (added with nextAttemptAt) stays pending and unclaimed until it is due, then is claimed',
  async run({ store }) {
    const { now, at } = clock();
    const [delayed, ordinary] = messages(2);
    await store.add([{ ...outboxEntry(delayed!), nextAttemptAt: at(5_000) }, outboxEntry(ordinary!)]);
    const stored = await findRecord(store, delayed!.id);
    expect(stored?.status).toBe('pending');
    expect(stored?.attempts).toBe(0);
    expect(stored?.nextAttemptAt?.getTime()).toBe(at(5_000).getTime());
    expect(idsOf(await claimAll(store, now)), 'only the ordinary record is due').toEqual([ordinary!.id]);
    expect(await claimAll(store, at(4_999)), 'not due 1 ms before').toEqual([]);
    const due = await claimAll(store, at(5_000));
    expect(idsOf(due)).toEqual([delayed!.id]);
    expect(due[0]!.status).toBe('pending');
    expect(due[0]!.attempts).toBe(0);
    expectSameMessage(due[0]!.message, delayed!, due[0]!.sequence);
    expect((await findRecord(store, ordinary!.id))?.nextAttemptAt ?? null).toBeNull();
  },
};

const delayedBlocksItsKey: OutboxCase = {
  name: 'a delayed record not yet due blocks later records of its ordering key; other keys flow',
  async run({ store }) {
    const { now, at } = clock();
    const name = uniqueEventName('outbox');
    const key = `delayed-${uniqueSuffix()}`;
    const [first, second, other] = [
      testWireMessage({ name, orderingKey: key }),
      testWireMessage({ name, orderingKey: key }),
      testWireMessage({ name, orderingKey: `other-${uniqueSuffix()}` }),
    ] as [WireMessage, WireMessage, WireMessage];
    await store.add([{ ...outboxEntry(first), nextAttemptAt: at(10_000) }]);
    await add(store, [second, other]);
    expect(idsOf(await claimAll(store, now)), 'second waits behind the delayed first').toEqual([other.id]);
    expect(idsOf(await claimAll(store, at(10_000))), 'first is due; second still waits').toEqual([first.id]);
    await store.markPublished([first.id], at(10_000));
    expect(idsOf(await claimAll(store, at(10_000)))).toEqual([second.id]);
  },
};

const deadRecords: OutboxCase = {
  name: 'markFailed with nextAttemptAt null makes the record dead: kept with its error, never claimed, not blocking its key',
  async run({ store }) {
    const { now, at } = clock();
    const key = `k-${uniqueSuffix()}`;
    const [k1, k2] = messages(2, { key: () => key });
    await add(store, [k1!, k2!]);
    expect(idsOf(await claimAll(store, now))).toEqual([k1!.id]);
    await store.markFailed([{ id: k1!.id, error: 'poison: rejected by broker', nextAttemptAt: null }], now);
    const dead = await store.list({ status: 'dead', limit: 100 });
    expect(idsOf(dead)).toEqual([k1!.id]);
    expect(dead[0]!.lastError).toBe('poison: rejected by broker');
    expect(dead[0]!.attempts).toBe(1);
    expect(idsOf(await claimAll(store, now)), 'the dead record no longer blocks k2').toEqual([k2!.id]);
    expect(idsOf(await claimAll(store, at(24 * 3_600_000)))).not.toContain(k1!.id);
  },
};

const errorHistory: OutboxCase = {
  name: 'errorHistory (optional) keeps each failure with its time, oldest first',
  async run({ store }) {
    const { now, at } = clock();
    const [message] = messages(1);
    await add(store, [message!]);
    await claimAll(store, now);
    await store.markFailed(
      [{ id: message!.id, error: 'first: connection refused', nextAttemptAt: at(10) }],
      now,
    );
    await claimAll(store, at(10));
    await store.markFailed([{ id: message!.id, error: 'second: nacked', nextAttemptAt: null }], at(10));
    const record = await findRecord(store, message!.id);
    expect(record?.lastError).toBe('second: nacked');
    if (record?.errorHistory === undefined) return; // the store does not keep a history
    expect(record.errorHistory.map((entry) => entry.error)).toEqual([
      'first: connection refused',
      'second: nacked',
    ]);
    expect(record.errorHistory.map((entry) => entry.at.getTime())).toEqual([now.getTime(), at(10).getTime()]);
  },
};

const neverDowngrade: OutboxCase = {
  name: 'markFailed never downgrades a published record',
  async run({ store }) {
    const { now, at } = clock();
    const [message] = messages(1);
    await add(store, [message!]);
    await claimAll(store, now);
    await store.markPublished([message!.id], now);
    await store.markFailed([{ id: message!.id, error: 'late failure', nextAttemptAt: at(1_000) }], now);
    await store.markFailed([{ id: message!.id, error: 'late failure', nextAttemptAt: null }], now);
    const record = await findRecord(store, message!.id);
    expect(record?.status).toBe('published');
    expect(record?.publishedAt?.getTime()).toBe(now.getTime());
    expect(await claimAll(store, at(24 * 3_600_000))).toEqual([]);
  },
};

const deleteExpired: OutboxCase = {
  name: 'deleteExpired deletes only published records published before `before`, at most `limit` per call',
  async run({ store }) {
    const { now, at } = clock();
    const [p1, p2, p3, recent, dead, pending] = messages(6);
    await add(store, [p1!, p2!, p3!, recent!, dead!, pending!]);
    await claimAll(store, now);
    await store.markPublished([p1!.id, p2!.id, p3!.id], at(-7_200_000));
    await store.markPublished([recent!.id], now);
    await store.markFailed([{ id: dead!.id, error: 'dead', nextAttemptAt: null }], now);
    const before = at(-3_600_000);
    expect(await store.deleteExpired(before, 2)).toBe(2);
    expect(await store.deleteExpired(before, 2)).toBe(1);
    expect(await store.deleteExpired(before, 2)).toBe(0);
    const left = new Set(idsOf(await store.list({ limit: 100 })));
    expect(left).toEqual(new Set([recent!.id, dead!.id, pending!.id]));
  },
};

const release: OutboxCase = {
  name: 'release ends a lease without counting an attempt',
  async run({ store }) {
    const { now } = clock();
    const [message] = messages(1);
    await add(store, [message!]);
    expect(idsOf(await claimAll(store, now))).toEqual([message!.id]);
    await store.release([message!.id]);
    const again = await claimAll(store, now);
    expect(idsOf(again)).toEqual([message!.id]);
    expect(again[0]!.status).toBe('pending');
    expect(again[0]!.attempts).toBe(0);
  },
};

const fencedClaims: OutboxCase = {
  name: 'fencing: a claim with an older token than the newest seen for its lock is refused (StaleFencingTokenError) and claims nothing; other locks are independent',
  async run({ store }) {
    const { now } = clock();
    const lock = `herald:outbox:testkit-${uniqueSuffix()}`;
    const all = messages(3);
    await add(store, all);
    const request = { limit: 10, leaseMs: LONG_LEASE, owner: OWNER, now, exclusive: true } as const;
    expect(idsOf(await store.claim({ ...request, fence: fence(lock, 1) }))).toEqual(idsOf(all));
    expect(idsOf(await store.claim({ ...request, fence: fence(lock, 2) })), 'a newer holder').toEqual(
      idsOf(all),
    );
    expect(idsOf(await store.claim({ ...request, fence: fence(lock, 2) })), 'the same token again').toEqual(
      idsOf(all),
    );
    // The stale claim is a leasing one: had it claimed anything, the records would be leased now.
    await expectStale(
      store.claim({ ...request, exclusive: false, fence: fence(lock, 1) }),
      'the old holder’s claim',
    );
    await expectStale(
      store.claim({ ...request, exclusive: false, fence: fence(lock, 1) }),
      'the old holder’s next claim',
    );
    expect(idsOf(await claimAll(store, now)), 'nothing was leased by the refused claims').toEqual(idsOf(all));
    const other = `${lock}:shard-1-of-2`;
    expect(
      await store.claim({ ...request, fence: fence(other, 0) }),
      'another lock keeps its own newest token',
    ).toEqual([]);
  },
};

const fencedMarks: OutboxCase = {
  name: 'fencing: markPublished, markFailed and release with an older token than the newest seen are refused and change nothing; the newer holder’s marks go through',
  async run({ store }) {
    const { now } = clock();
    const lock = `herald:outbox:testkit-${uniqueSuffix()}`;
    const [published, failed] = messages(2);
    await add(store, [published!, failed!]);
    const claimed = await store.claim({
      limit: 10,
      leaseMs: LONG_LEASE,
      owner: 'relay-a',
      now,
      fence: fence(lock, 1),
    });
    expect(idsOf(claimed)).toEqual([published!.id, failed!.id]);
    // The lock changes hands: the new holder's first claim (its records are still leased) raises the token.
    expect(
      await store.claim({ limit: 10, leaseMs: LONG_LEASE, owner: 'relay-b', now, fence: fence(lock, 2) }),
    ).toEqual([]);

    await expectStale(
      store.markPublished([published!.id], now, fence(lock, 1)),
      'the old holder’s markPublished',
    );
    await expectStale(
      store.markFailed([{ id: failed!.id, error: 'stale', nextAttemptAt: null }], now, fence(lock, 1)),
      'the old holder’s markFailed',
    );
    await expectStale(store.release([published!.id, failed!.id], fence(lock, 1)), 'the old holder’s release');
    const stillOpen = await findRecord(store, published!.id);
    const notFailed = await findRecord(store, failed!.id);
    expect([stillOpen?.status, stillOpen?.publishedAt]).toEqual(['pending', null]);
    expect([notFailed?.status, notFailed?.attempts, notFailed?.lastError]).toEqual(['pending', 0, null]);
    expect(await claimAll(store, now), 'the leases were not ended').toEqual([]);

    await store.markPublished([published!.id], now, fence(lock, 2));
    await store.release([failed!.id], fence(lock, 2));
    expect((await findRecord(store, published!.id))?.status).toBe('published');
    expect(idsOf(await claimAll(store, now))).toEqual([failed!.id]);
  },
};

const fencedLockedClaim: OutboxCase = {
  name: 'fencing: claimLocked (optional) refuses an older token before sending, and a newer token seen while sending rejects it with nothing marked',
  async run({ store }, skip) {
    if (!store.claimLocked) return skip?.(LOCKED_ABSENT);
    const claimLocked = store.claimLocked.bind(store);
    const { now } = clock();
    const lock = `herald:outbox:testkit-${uniqueSuffix()}`;
    const all = messages(2);
    await add(store, all);
    const request = { limit: 10, leaseMs: LONG_LEASE, owner: 'relay-a', now };
    const overtaken = claimLocked({ ...request, fence: fence(lock, 1) }, async (records) => {
      // A newer holder claims meanwhile (the rows are locked: it gets none of them, but its token is seen).
      await store.claim({ ...request, owner: 'relay-b', exclusive: true, fence: fence(lock, 2) });
      return { published: idsOf(records), held: [] };
    });
    await expectStale(overtaken, 'the marks of a relay overtaken while sending');
    for (const message of all) expect((await findRecord(store, message.id))?.status).toBe('pending');

    let sent = false;
    await expectStale(
      claimLocked({ ...request, fence: fence(lock, 1) }, async (records) => {
        sent = true;
        return { published: idsOf(records), held: [] };
      }),
      'a locked claim with the old token',
    );
    expect(sent, 'nothing was handed to the broker').toBe(false);
    expect(idsOf(await claimAll(store, now)), 'everything is still claimable').toEqual(idsOf(all));
  },
};

const rollback: OutboxCase = {
  name: 'add inside a transaction that rolls back leaves nothing behind',
  async run(fixture) {
    const transaction = needsTransaction(fixture);
    if (!transaction) {
      expect(fixture.store.transactional).toBe(false);
      return;
    }
    const { store } = fixture;
    const { now } = clock();
    const list = messages(3);
    await expect(
      transaction(async (tx) => {
        await add(store, list, tx);
        throw new RollbackSignal();
      }),
    ).rejects.toThrow('deliberate rollback');
    expect(await claimAll(store, now)).toEqual([]);
    expect(await store.list({ limit: 100 })).toEqual([]);
  },
};

const commit: OutboxCase = {
  name: 'add inside a committed transaction is visible afterwards',
  async run(fixture) {
    const transaction = needsTransaction(fixture);
    if (!transaction) {
      expect(fixture.store.transactional).toBe(false);
      return;
    }
    const { store } = fixture;
    const { now } = clock();
    const list = messages(2, { key: () => `k-${uniqueSuffix()}` });
    await transaction(async (tx) => add(store, list, tx));
    const claimed = await claimAll(store, now);
    expect(idsOf(claimed)).toEqual(idsOf(list));
    for (const [i, record] of claimed.entries()) expectSameMessage(record.message, list[i]!, record.sequence);
  },
};

const idempotentAdd: OutboxCase = {
  name: 'adding the same message id again never creates a second record',
  async run({ store }) {
    const { now } = clock();
    const [message] = messages(1);
    await add(store, [message!]);
    await add(store, [message!]).catch(() => undefined);
    expect(idsOf(await claimAll(store, now))).toEqual([message!.id]);
    await store.markPublished([message!.id], now);
    await add(store, [message!]).catch(() => undefined);
    const copies = (await store.list({ limit: 10_000 })).filter(
      (record) => record.message.id === message!.id,
    );
    expect(copies).toHaveLength(1);
    expect(copies[0]!.status).toBe('published');
    expect(await claimAll(store, now)).toEqual([]);
  },
};

const listing: OutboxCase = {
  name: 'list filters by status, eventName, before and limit, in sequence order',
  async run({ store }) {
    const { now } = clock();
    const nameA = uniqueEventName('outbox-a');
    const nameB = uniqueEventName('outbox-b');
    const as = messages(3, { name: nameA });
    const bs = messages(2, { name: nameB });
    await add(store, [as[0]!, bs[0]!, as[1]!, bs[1]!, as[2]!]);
    await claimAll(store, now);
    await store.markPublished([as[1]!.id], now);
    expect(idsOf(await store.list({ eventName: nameA }))).toEqual(idsOf(as));
    expect(idsOf(await store.list({ status: 'published' }))).toEqual([as[1]!.id]);
    expect(idsOf(await store.list({ status: 'pending', eventName: nameA }))).toEqual([as[0]!.id, as[2]!.id]);
    expect(idsOf(await store.list({ eventName: nameB, limit: 1 }))).toEqual([bs[0]!.id]);
    expect(await store.list({ before: new Date(now.getTime() - 3_600_000) })).toEqual([]);
    expect(await store.list({ before: new Date(now.getTime() + 3_600_000) })).toHaveLength(5);
  },
};

const requeue: OutboxCase = {
  name: 'requeue makes failed and dead records pending and due now; other records are left alone',
  async run({ store }) {
    const { now, at } = clock();
    const [dead, failed, pending, published] = messages(4);
    await add(store, [dead!, failed!, pending!, published!]);
    await claimAll(store, now);
    await store.markFailed(
      [
        { id: dead!.id, error: 'dead', nextAttemptAt: null },
        { id: failed!.id, error: 'failed', nextAttemptAt: at(24 * 3_600_000) },
      ],
      now,
    );
    await store.markPublished([published!.id], now);
    await store.release([pending!.id]);
    const changed = await store.requeue([dead!.id, failed!.id, pending!.id, published!.id], at(1_000));
    expect(changed).toBe(2);
    expect((await findRecord(store, dead!.id))?.status).toBe('pending');
    expect((await findRecord(store, failed!.id))?.status).toBe('pending');
    expect((await findRecord(store, published!.id))?.status).toBe('published');
    const claimed = new Set(idsOf(await claimAll(store, at(1_000))));
    expect(claimed).toEqual(new Set([dead!.id, failed!.id, pending!.id]));
  },
};

const shards: OutboxCase = {
  name: 'a shard filter returns only records whose bucket matches; every record belongs to exactly one shard',
  async run({ store }) {
    const { now } = clock();
    const all = messages(40, { key: (i) => `customer-${i}-${uniqueSuffix()}` });
    await add(store, all);
    const count = 4;
    const seen: string[] = [];
    for (let index = 0; index < count; index++) {
      const claimed = await store.claim({
        limit: 1000,
        leaseMs: LONG_LEASE,
        owner: OWNER,
        now,
        shard: { index, count },
      });
      for (const record of claimed) {
        expect(record.bucket % count).toBe(index);
        expect(record.bucket).toBe(outboxEntry(record.message).bucket);
      }
      seen.push(...idsOf(claimed));
    }
    expect(seen.sort()).toEqual(idsOf(all).sort());
  },
};

const bucketPersisted: OutboxCase = {
  name: 'the bucket given to add is persisted as is (not recomputed)',
  async run({ store }) {
    const { now } = clock();
    const list = messages(3);
    const buckets = [0, 513, 1023];
    await store.add(list.map((message, i) => ({ message, bucket: buckets[i]! })));
    const listed = await store.list({ limit: 100 });
    expect(listed.map((record) => record.bucket)).toEqual(buckets);
    const shard = await store.claim({
      limit: 10,
      leaseMs: LONG_LEASE,
      owner: OWNER,
      now,
      shard: { index: 1023 % 8, count: 8 },
    });
    expect(idsOf(shard)).toEqual([list[2]!.id]);
  },
};

const wakesOnCommit: OutboxCase = {
  name: 'wakesOnCommit (optional): while it says true, the commit of a transaction that added records fires onWake, and a rollback does not',
  async run(fixture, skip) {
    const { store } = fixture;
    if (!store.wakesOnCommit || !store.onWake)
      return skip?.('the store has no commit wake-ups (wakesOnCommit)');
    let wakes = 0;
    const unsubscribe = store.onWake(() => void wakes++);
    try {
      // Subscribing starts the signal (PostgreSQL: a LISTEN connection); give it a moment.
      const deadline = Date.now() + 5_000;
      while (!store.wakesOnCommit() && Date.now() < deadline) await sleep(20);
      if (!store.wakesOnCommit()) {
        return skip?.('wakesOnCommit() stays false with this fixture (no commit signal configured)');
      }
      const transaction = needsTransaction(fixture);
      if (!transaction) return skip?.('the store is not transactional: every add commits at once');
      await sleep(100);
      wakes = 0;
      await expect(
        transaction(async (tx) => {
          await add(store, messages(1), tx);
          throw new RollbackSignal();
        }),
      ).rejects.toThrow('deliberate rollback');
      await transaction(async (tx) => {
        await add(store, messages(2), tx);
        await sleep(100);
        expect(wakes, 'no wake-up before the commit').toBe(0);
      });
      const committedBy = Date.now() + 3_000;
      while (wakes === 0 && Date.now() < committedBy) await sleep(5);
      expect(wakes, 'one wake-up for the commit, none for the rollback').toBe(1);
      await sleep(200);
      expect(wakes, 'no wake-up for the rollback').toBe(1);
    } finally {
      unsubscribe();
    }
  },
};

/** The optional operator members of newer ports, read without depending on them. */
interface OptionalOutboxMembers {
  purge?(ids: readonly string[]): Promise<number>;
  backlog?(): Promise<{ pending: number; oldestCreatedAt: Date | null }>;
}

const purge: OutboxCase = {
  name: 'purge (optional) deletes records of any status by id and returns how many',
  async run({ store }) {
    const optional = store as OutboxStore & OptionalOutboxMembers;
    if (!optional.purge) {
      expect(optional.purge, 'purge is optional; absent here').toBeUndefined();
      return;
    }
    const { now } = clock();
    const [published, dead, pending, kept] = messages(4);
    await add(store, [published!, dead!, pending!, kept!]);
    await claimAll(store, now);
    await store.markPublished([published!.id], now);
    await store.markFailed([{ id: dead!.id, error: 'dead', nextAttemptAt: null }], now);
    expect(await optional.purge([published!.id, dead!.id, pending!.id, testWireMessage().id])).toBe(3);
    expect(idsOf(await store.list({ limit: 100 }))).toEqual([kept!.id]);
  },
};

const backlog: OutboxCase = {
  name: 'backlog (optional) counts unpublished records and reports when the oldest was created',
  async run({ store }) {
    const optional = store as OutboxStore & OptionalOutboxMembers;
    if (!optional.backlog) {
      expect(optional.backlog, 'backlog is optional; absent here').toBeUndefined();
      return;
    }
    expect(await optional.backlog()).toEqual({ pending: 0, oldestCreatedAt: null });
    const { now, at } = clock();
    const [first] = messages(1);
    await add(store, [first!]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const [failed, pending] = messages(2);
    await add(store, [failed!, pending!]);
    await claimAll(store, now);
    await store.markPublished([first!.id], now);
    await store.markFailed([{ id: failed!.id, error: 'later', nextAttemptAt: at(60_000) }], now);
    const oldest = (await findRecord(store, failed!.id))!.createdAt;
    const result = await optional.backlog();
    expect(result.pending).toBe(2);
    expect(result.oldestCreatedAt?.getTime()).toBe(oldest.getTime());
  },
};

const backlogOfDelayed: OutboxCase = {
  name: 'backlog (optional) counts a delayed record but dates it from its due time, and not at all before',
  async run({ store }) {
    const optional = store as OutboxStore & OptionalOutboxMembers;
    if (!optional.backlog) {
      expect(optional.backlog, 'backlog is optional; absent here').toBeUndefined();
      return;
    }
    // Real times: backlog() reads the clock itself.
    const [later, overdue] = messages(2);
    await store.add([{ ...outboxEntry(later!), nextAttemptAt: new Date(Date.now() + 3_600_000) }]);
    expect(await optional.backlog(), 'not due yet: counted, not waiting').toEqual({
      pending: 1,
      oldestCreatedAt: null,
    });
    const dueAt = new Date(Date.now() - 5_000);
    await store.add([{ ...outboxEntry(overdue!), nextAttemptAt: dueAt }]);
    const result = await optional.backlog();
    expect(result.pending).toBe(2);
    expect(result.oldestCreatedAt?.getTime(), 'waiting since its due time, not its creation').toBe(
      dueAt.getTime(),
    );
  },
};

/**
 * Every check an {@link OutboxStore} must pass. Each case gets a fresh
 * fixture whose tables are empty; times are passed explicitly (`now`), so
 * lease and retry checks never sleep.
 */
export const outboxStoreCases: readonly ConformanceCase<OutboxStoreFixture>[] = [
  roundTrip,
  sequenceOrderAndLimit,
  leases,
  concurrentClaims,
  exclusiveClaimLeasesNothing,
  exclusiveClaimRespectsLeases,
  lockedClaimMarksInItsTransaction,
  lockedClaimRollsBack,
  perKeyOrder,
  failedUntilDue,
  delayedUntilDue,
  delayedBlocksItsKey,
  deadRecords,
  errorHistory,
  neverDowngrade,
  deleteExpired,
  release,
  rollback,
  commit,
  idempotentAdd,
  listing,
  requeue,
  shards,
  bucketPersisted,
  purge,
  backlog,
  backlogOfDelayed,
  wakesOnCommit,
  fencedClaims,
  fencedMarks,
  fencedLockedClaim,
];

/** Runs one outbox case against a fresh fixture from `create`, always calling its cleanup. */
export function runOutboxStoreCase(
  testCase: ConformanceCase<OutboxStoreFixture>,
  create: () => Promise<OutboxStoreFixture>,
  skip?: (reason: string) => void,
): Promise<void> {
  return runWithFixture(testCase, create, skip);
}

/**
 * Registers the outbox conformance suite with vitest: one `it` per case in
 * {@link outboxStoreCases}. Call it from an adapter package's
 * `test/conformance.test.ts`.
 *
 * ```ts
 * describeOutboxStoreConformance({
 *   name: 'prisma-postgresql',
 *   create: async () => {
 *     await prisma.$executeRaw`TRUNCATE herald_outbox`;
 *     return { store: prismaOutbox(prisma), transaction: (work) => prisma.$transaction(work) };
 *   },
 * });
 * ```
 */
export function describeOutboxStoreConformance(options: OutboxStoreConformanceOptions): void {
  describeCases(
    `OutboxStore conformance: ${options.name}`,
    outboxStoreCases,
    (testCase, skip) => runOutboxStoreCase(testCase, options.create, skip),
    options.timeoutMs,
  );
}
