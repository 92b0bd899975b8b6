import type { BeginResult, InboxFailure, InboxKey, InboxRecord, InboxStore } from '@herald/core';
import { uuidv7 } from '@herald/core';
import { expect } from 'vitest';
import { uniqueSuffix } from '../internal/random.js';
import { sleep } from '../internal/wait.js';
import { expectSameMessage, RollbackSignal } from './assertions.js';
import { type ConformanceCase, describeCases, runWithFixture } from './case.js';
import { expectStale, fence } from './fencing.js';
import { testWireMessage, uniqueEventName } from './messages.js';

/** What each inbox case receives: a store over empty tables. */
export interface InboxStoreFixture {
  /** The store under test. Its tables must be empty (truncate them in `create`). */
  readonly store: InboxStore;
  /** Called after each case (close clients, drop data). */
  readonly cleanup?: () => Promise<void>;
}

/** Options of {@link describeInboxStoreConformance}. */
export interface InboxStoreConformanceOptions {
  /** Shown in the vitest `describe` title. */
  readonly name: string;
  /** Creates a fresh fixture for one case. */
  readonly create: () => Promise<InboxStoreFixture>;
  /** Per-case vitest timeout; default 30 s. */
  readonly timeoutMs?: number;
}

type InboxCase = ConformanceCase<InboxStoreFixture>;

/** One (message, handler) pair plus what `tryBegin` and `fail` need to know about it. */
interface Entry extends InboxKey {
  readonly eventName: string;
  readonly orderingKey: string | null;
}

const LONG_LEASE = 60_000;

function clock() {
  const now = new Date();
  return { now, at: (offsetMs: number) => new Date(now.getTime() + offsetMs) };
}

function handlerName(): string {
  return `testkit-handler-${uniqueSuffix()}`;
}

function entry(handler: string, orderingKey: string | null = null, eventName = 'testkit.inbox-event'): Entry {
  return { messageId: uuidv7(), handler, eventName, orderingKey };
}

function begin(
  store: InboxStore,
  e: Entry,
  options: { now: Date; leaseMs?: number; tx?: unknown },
): Promise<BeginResult> {
  return store.tryBegin({ ...e, leaseMs: options.leaseMs ?? LONG_LEASE, now: options.now }, options.tx);
}

function failure(
  e: Entry,
  fields: { attempts?: number; error?: string; nextAttemptAt: Date | null },
): InboxFailure {
  const message = testWireMessage({
    id: e.messageId,
    name: e.eventName,
    ...(e.orderingKey !== null ? { orderingKey: e.orderingKey } : {}),
    headers: { 'x-trace-note': 'kept for the retry' },
  });
  return {
    messageId: e.messageId,
    handler: e.handler,
    eventName: e.eventName,
    orderingKey: e.orderingKey,
    message,
    attempts: fields.attempts ?? 1,
    error: fields.error ?? 'Error: handler failed',
    nextAttemptAt: fields.nextAttemptAt,
  };
}

async function processed(store: InboxStore, e: Entry, at: Date): Promise<void> {
  await store.transaction(async (tx) => {
    expect(await begin(store, e, { now: at, tx })).toBe('begun');
    await store.complete(e, at, tx);
  });
}

async function find(store: InboxStore, e: InboxKey): Promise<InboxRecord | undefined> {
  return (await store.list({ handler: e.handler, limit: 10_000 })).find((r) => r.messageId === e.messageId);
}

function keysOf(records: readonly InboxRecord[]): string[] {
  return records.map((record) => `${record.handler}/${record.messageId}`);
}

function keys(...entries: readonly Entry[]): string[] {
  return entries.map((e) => `${e.handler}/${e.messageId}`);
}

const claim = (store: InboxStore, now: Date, limit = 1000, leaseMs = LONG_LEASE) =>
  store.claimDue({ limit, leaseMs, owner: 'testkit-inbox', now });

const beginCompleteDuplicate: InboxCase = {
  name: "tryBegin answers 'begun', and 'duplicate' once the handling completed (per handler)",
  async run({ store }) {
    const { now } = clock();
    const e = entry(handlerName());
    await store.transaction(async (tx) => {
      expect(await begin(store, e, { now, tx })).toBe('begun');
      await store.complete(e, now, tx);
    });
    expect(await begin(store, e, { now })).toBe('duplicate');
    expect(await store.transaction((tx) => begin(store, e, { now, tx }))).toBe('duplicate');
    expect((await find(store, e))?.status).toBe('processed');
    const otherHandler = { ...e, handler: handlerName() };
    expect(
      await begin(store, otherHandler, { now }),
      'another handler of the same message is independent',
    ).toBe('begun');
  },
};

const concurrentBegin: InboxCase = {
  name: 'concurrent tryBegin of one key in two transactions: exactly one begins',
  async run({ store }) {
    const { now } = clock();
    const e = entry(handlerName());
    const attempt = () =>
      store.transaction(async (tx) => {
        const result = await begin(store, e, { now, tx });
        if (result === 'begun') {
          await sleep(50);
          await store.complete(e, now, tx);
        }
        return result;
      });
    const results = await Promise.all([attempt(), attempt()]);
    expect(results.filter((r) => r === 'begun')).toHaveLength(1);
    expect(results.filter((r) => r !== 'begun')[0]).toMatch(/^(duplicate|busy)$/);
    expect(await begin(store, e, { now })).toBe('duplicate');
  },
};

const rollbackRedelivery: InboxCase = {
  name: "rolling back the handler's transaction removes the entry, so a redelivery begins again",
  async run({ store }) {
    const { now, at } = clock();
    const e = entry(handlerName());
    await expect(
      store.transaction(async (tx) => {
        expect(await begin(store, e, { now, tx })).toBe('begun');
        await store.complete(e, now, tx);
        throw new RollbackSignal();
      }),
    ).rejects.toThrow('deliberate rollback');
    expect((await find(store, e))?.status).not.toBe('processed');
    expect(await store.transaction((tx) => begin(store, e, { now: at(10), tx }))).toBe('begun');
  },
};

const busy: InboxCase = {
  name: "a live 'processing' lease answers 'busy'",
  async run({ store }) {
    const { now, at } = clock();
    const e = entry(handlerName());
    expect(await begin(store, e, { now, leaseMs: 10_000 })).toBe('begun');
    expect(await begin(store, e, { now: at(1_000) })).toBe('busy');
    expect(await begin(store, e, { now: at(9_000) })).toBe('busy');
  },
};

const takeover: InboxCase = {
  name: "an expired 'processing' lease is taken over ('begun' again) with a new lease",
  async run({ store }) {
    const { now, at } = clock();
    const e = entry(handlerName());
    expect(await begin(store, e, { now, leaseMs: 100 })).toBe('begun');
    expect(await begin(store, e, { now: at(1_000), leaseMs: 10_000 })).toBe('begun');
    expect(await begin(store, e, { now: at(2_000) }), 'the new owner holds a live lease').toBe('busy');
  },
};

const failStores: InboxCase = {
  name: 'fail stores the message, error, attempts and nextAttemptAt; tryBegin then answers duplicate',
  async run({ store }) {
    const { now, at } = clock();
    const e = entry(handlerName(), `order-${uniqueSuffix()}`, uniqueEventName('inbox'));
    expect(await begin(store, e, { now })).toBe('begun');
    const failed = failure(e, { attempts: 2, error: 'Error: database is down', nextAttemptAt: at(5_000) });
    await store.fail(failed, now);
    const record = await find(store, e);
    expect(record).toBeDefined();
    expect(record!.status).toBe('failed');
    expect(record!.attempts).toBe(2);
    expect(record!.lastError).toBe('Error: database is down');
    expect(record!.nextAttemptAt?.getTime()).toBe(at(5_000).getTime());
    expect(record!.eventName).toBe(e.eventName);
    expect(record!.orderingKey).toBe(e.orderingKey);
    expectSameMessage(record!.message!, failed.message);
    expect(await begin(store, e, { now: at(100) }), 'the retry queue owns it now').toBe('duplicate');
  },
};

const claimDueOrder: InboxCase = {
  name: 'claimDue returns due failed entries in sequence order, respects limit and leases',
  async run({ store }) {
    const { now, at } = clock();
    const h = handlerName();
    const [e1, e2, e3, later] = [entry(h), entry(h), entry(h), entry(h)];
    const failures = [e1, e2, e3].map((e) => failure(e, { nextAttemptAt: now }));
    for (const f of failures) await store.fail(f, now);
    await store.fail(failure(later, { nextAttemptAt: at(60_000) }), now);

    const first = await claim(store, now, 2, 1_000);
    expect(keysOf(first)).toEqual(keys(e1, e2));
    expect(first[1]!.sequence).toBeGreaterThan(first[0]!.sequence);
    expectSameMessage(first[0]!.message!, failures[0]!.message);
    expect(keysOf(await claim(store, now, 10, 1_000))).toEqual(keys(e3));
    expect(await claim(store, now, 10, 1_000), 'all due entries are leased').toEqual([]);
    expect(keysOf(await claim(store, at(1_500), 10, 1_000)), 'leases expired').toEqual(keys(e1, e2, e3));
    expect(keysOf(await claim(store, at(61_000), 10, 1_000))).toEqual(keys(e1, e2, e3, later));
  },
};

const claimDueHandlers: InboxCase = {
  name: 'claimDue with `handlers` returns only entries of those handlers (services sharing a table)',
  async run({ store }) {
    const { now } = clock();
    const [mine, theirs] = [handlerName(), handlerName()];
    const [a, b] = [entry(mine), entry(theirs)];
    await store.fail(failure(a, { nextAttemptAt: now }), now);
    await store.fail(failure(b, { nextAttemptAt: now }), now);
    const claimed = await store.claimDue({
      limit: 100,
      leaseMs: LONG_LEASE,
      owner: 'testkit-inbox',
      now,
      handlers: [mine],
    });
    expect(keysOf(claimed)).toEqual(keys(a));
    expect(
      await store.claimDue({ limit: 100, leaseMs: LONG_LEASE, owner: 'testkit-inbox', now, handlers: [] }),
    ).toEqual([]);
    expect(keysOf(await claim(store, now)).filter((k) => k.startsWith(`${theirs}/`))).toEqual(keys(b));
  },
};

const fencedClaimDue: InboxCase = {
  name: 'fencing: claimDue with an older token than the newest seen for its lock is refused (StaleFencingTokenError) and leases nothing; other locks are independent',
  async run({ store }) {
    const { now, at } = clock();
    const h = handlerName();
    const lock = `herald:inbox:testkit-${uniqueSuffix()}`;
    const [first, second] = [entry(h), entry(h)];
    await store.fail(failure(first, { nextAttemptAt: now }), now);
    const request = { limit: 10, leaseMs: 1_000, owner: 'testkit-inbox', now, handlers: [h] };
    expect(keysOf(await store.claimDue({ ...request, fence: fence(lock, 1) })), 'the first holder').toEqual(
      keys(first),
    );
    // The first holder paused past its lease: a newer holder claims the entry again.
    const later = { ...request, now: at(1_500) };
    expect(keysOf(await store.claimDue({ ...later, fence: fence(lock, 2) })), 'a newer holder').toEqual(
      keys(first),
    );
    await store.fail(failure(second, { nextAttemptAt: now }), now);
    await expectStale(store.claimDue({ ...later, fence: fence(lock, 1) }), 'the old holder’s claim');
    await expectStale(store.claimDue({ ...later, fence: fence(lock, 1) }), 'the old holder’s next claim');
    expect(
      await store
        .claimDue({ ...later, owner: 'testkit-other', fence: fence(`${lock}:other`, 0) })
        .then(keysOf),
      'another lock keeps its own newest token; the refused claims leased nothing',
    ).toEqual(keys(second));
    expect(
      await store.claimDue({ ...later, fence: fence(lock, 2) }),
      'the same token again: its own lease stands',
    ).toEqual([]);
  },
};

const fencedComplete: InboxCase = {
  name: 'fencing: complete with an older token than the newest seen for its lock is refused (StaleFencingTokenError) and marks nothing; the newer holder completes',
  async run({ store }) {
    const { now, at } = clock();
    const h = handlerName();
    const lock = `herald:inbox:testkit-${uniqueSuffix()}`;
    const e = entry(h);
    await store.fail(failure(e, { nextAttemptAt: now }), now);
    const request = { limit: 10, leaseMs: 1_000, owner: 'testkit-inbox', now, handlers: [h] };
    expect(keysOf(await store.claimDue({ ...request, fence: fence(lock, 1) })), 'the first holder').toEqual(
      keys(e),
    );
    // The first holder paused past its lease while its handler ran: a newer holder claims the entry.
    expect(
      keysOf(await store.claimDue({ ...request, now: at(1_500), fence: fence(lock, 2) })),
      'a newer holder',
    ).toEqual(keys(e));
    await expectStale(
      store.transaction((tx) => store.complete(e, at(1_600), tx, fence(lock, 1))),
      'the old holder’s complete',
    );
    expect((await find(store, e))?.status, 'the refused complete marked nothing').not.toBe('processed');
    await store.transaction((tx) => store.complete(e, at(1_700), tx, fence(lock, 2)));
    expect((await find(store, e))?.status, 'the newer holder’s complete').toBe('processed');
  },
};

const inboxErrorHistory: InboxCase = {
  name: 'errorHistory (optional) keeps each failed handling with its time, oldest first',
  async run({ store }) {
    const { now, at } = clock();
    const e = entry(handlerName());
    await store.fail(failure(e, { attempts: 1, error: 'first: timeout', nextAttemptAt: at(10) }), now);
    await store.fail(
      failure(e, { attempts: 2, error: 'second: constraint violation', nextAttemptAt: null }),
      at(10),
    );
    const record = await find(store, e);
    expect(record?.lastError).toBe('second: constraint violation');
    if (record?.errorHistory === undefined) return; // the store does not keep a history
    expect(record.errorHistory.map((item) => item.error)).toEqual([
      'first: timeout',
      'second: constraint violation',
    ]);
    expect(record.errorHistory.map((item) => item.at.getTime())).toEqual([now.getTime(), at(10).getTime()]);
  },
};

const claimDueKeyOrder: InboxCase = {
  name: 'claimDue keeps order per (handler, ordering key): an unfinished earlier entry blocks later ones',
  async run({ store }) {
    const { now, at } = clock();
    const [h, h2] = [handlerName(), handlerName()];
    const key = `k-${uniqueSuffix()}`;
    const e1 = entry(h, key);
    const e2 = entry(h, key);
    const sameKeyOtherHandler = entry(h2, key);
    const unkeyed = entry(h);
    await store.fail(failure(e1, { nextAttemptAt: at(5_000) }), now);
    await store.fail(failure(e2, { attempts: 0, nextAttemptAt: now }), now);
    await store.fail(failure(sameKeyOtherHandler, { nextAttemptAt: now }), now);
    await store.fail(failure(unkeyed, { nextAttemptAt: now }), now);

    expect(keysOf(await claim(store, now)), 'e2 waits behind failed e1').toEqual(
      keys(sameKeyOtherHandler, unkeyed),
    );
    expect(keysOf(await claim(store, at(5_000))), 'e1 is due; e2 still waits').toEqual(keys(e1));
    expect(await claim(store, at(5_000)), 'e2 waits behind leased e1').toEqual([]);
    await store.transaction((tx) => store.complete(e1, at(5_000), tx));
    expect(keysOf(await claim(store, at(5_000)))).toEqual(keys(e2));
  },
};

const deadEntries: InboxCase = {
  name: 'fail with nextAttemptAt null makes the entry dead: kept, never claimed, not blocking its key',
  async run({ store }) {
    const { now, at } = clock();
    const h = handlerName();
    const key = `k-${uniqueSuffix()}`;
    const poison = entry(h, key);
    const next = entry(h, key);
    await store.fail(
      failure(poison, { attempts: 11, error: 'SchemaValidationError: bad', nextAttemptAt: null }),
      now,
    );
    const record = await find(store, poison);
    expect(record?.status).toBe('dead');
    expect(record?.lastError).toBe('SchemaValidationError: bad');
    expect(record?.message).not.toBeNull();
    expect(await store.blockedChains([{ handler: h, orderingKey: key }])).toEqual([false]);
    expect(await claim(store, at(24 * 3_600_000))).toEqual([]);
    await store.fail(failure(next, { nextAttemptAt: now }), now);
    expect(keysOf(await claim(store, now))).toEqual(keys(next));
  },
};

const chainsBlocked: InboxCase = {
  name: 'blockedChains: true per chain while a failed entry exists for the handler and key, false for dead or processed',
  async run({ store }) {
    const { now, at } = clock();
    const [h, h2] = [handlerName(), handlerName()];
    const key = `k-${uniqueSuffix()}`;
    const otherKey = `k-${uniqueSuffix()}`;
    const blocked = (...chains: Array<[string, string]>) =>
      store.blockedChains(chains.map(([handler, orderingKey]) => ({ handler, orderingKey })));
    expect(await blocked([h, key])).toEqual([false]);
    expect(await store.blockedChains([]), 'no chains, no answers').toEqual([]);
    const failed = entry(h, key);
    await store.fail(failure(failed, { nextAttemptAt: at(5_000) }), now);
    expect(await blocked([h2, key], [h, key], [h, otherKey], [h, key])).toEqual([false, true, false, true]);
    await store.transaction((tx) => store.complete(failed, at(5_000), tx));
    expect(await blocked([h, key])).toEqual([false]);
    await processed(store, entry(h, otherKey), now);
    expect(await blocked([h, otherKey])).toEqual([false]);
    await store.fail(failure(entry(h, otherKey), { nextAttemptAt: null }), now);
    expect(await blocked([h, otherKey])).toEqual([false]);
  },
};

const beginManyResults: InboxCase = {
  name: "beginMany answers per entry in input order: 'begun' for new, 'duplicate' for handled, 'busy' under a live lease",
  async run({ store }) {
    const { now, at } = clock();
    const h = handlerName();
    const done = entry(h);
    const leased = entry(h);
    await processed(store, done, now);
    expect(await begin(store, leased, { now, leaseMs: 60_000 })).toBe('begun');
    const fresh = [entry(h), entry(h, `k-${uniqueSuffix()}`), entry(h)];
    const many = [fresh[0]!, done, fresh[1]!, leased, fresh[2]!].map((e) => ({
      ...e,
      leaseMs: LONG_LEASE,
      now: at(1),
    }));
    const results = await store.transaction(async (tx) => {
      const answers = await store.beginMany(many, tx);
      for (const [index, e] of many.entries())
        if (answers[index] === 'begun') await store.complete(e, at(1), tx);
      return answers;
    });
    expect(results).toEqual(['begun', 'duplicate', 'begun', 'busy', 'begun']);
    for (const e of fresh) expect((await find(store, e))?.status).toBe('processed');
    expect(await store.beginMany([], undefined), 'an empty batch begins nothing').toEqual([]);
    expect(await store.beginMany([{ ...fresh[0]!, leaseMs: LONG_LEASE, now: at(2) }])).toEqual(['duplicate']);
  },
};

const beginManyRollback: InboxCase = {
  name: 'beginMany inside a transaction that rolls back leaves nothing: the whole batch can begin again',
  async run({ store }, skip) {
    if (!store.transactional) return skip?.('a store without transactions has nothing to roll back');
    const { now } = clock();
    const h = handlerName();
    const batch = [entry(h), entry(h), entry(h)].map((e) => ({ ...e, leaseMs: LONG_LEASE, now }));
    await expect(
      store.transaction(async (tx) => {
        expect(await store.beginMany(batch, tx)).toEqual(['begun', 'begun', 'begun']);
        for (const e of batch) await store.complete(e, now, tx);
        throw new RollbackSignal();
      }),
    ).rejects.toBeInstanceOf(RollbackSignal);
    for (const e of batch) expect(await find(store, e)).toBeUndefined();
    const again = await store.transaction(async (tx) => {
      const answers = await store.beginMany(batch, tx);
      for (const e of batch) await store.complete(e, now, tx);
      return answers;
    });
    expect(again).toEqual(['begun', 'begun', 'begun']);
  },
};

const beginManyConcurrent: InboxCase = {
  name: 'concurrent beginMany of overlapping batches in two transactions: each key begins exactly once',
  async run({ store }) {
    const { now } = clock();
    const h = handlerName();
    const shared = [entry(h), entry(h), entry(h)];
    const first = [entry(h), ...shared].map((e) => ({ ...e, leaseMs: LONG_LEASE, now }));
    const second = [...shared, entry(h)].map((e) => ({ ...e, leaseMs: LONG_LEASE, now }));
    const run = (batch: typeof first) =>
      store.transaction(async (tx) => {
        const answers = await store.beginMany(batch, tx);
        await sleep(30);
        for (const [index, e] of batch.entries())
          if (answers[index] === 'begun') await store.complete(e, now, tx);
        return answers;
      });
    const [a, b] = await Promise.all([run(first), run(second)]);
    expect(a[0]).toBe('begun');
    expect(b[3]).toBe('begun');
    for (let i = 0; i < shared.length; i++) {
      const answers = [a[i + 1], b[i]];
      expect(
        answers.filter((answer) => answer === 'begun'),
        `shared entry ${i}: ${answers.join(', ')}`,
      ).toHaveLength(1);
    }
    for (const e of [...first, ...second]) expect((await find(store, e))?.status).toBe('processed');
  },
};

const parking: InboxCase = {
  name: 'park stores a waiting message behind its failed chain: due at once, no attempt counted, claimed after the failure ends',
  async run({ store }) {
    const { now, at } = clock();
    const h = handlerName();
    const key = `k-${uniqueSuffix()}`;
    const failed = entry(h, key);
    const waiting = entry(h, key);
    await store.fail(failure(failed, { nextAttemptAt: at(60_000) }), now);
    const message = failure(waiting, { nextAttemptAt: now }).message;
    await store.park({ ...waiting, orderingKey: key, message }, now);
    const record = await find(store, waiting);
    expect(record?.status).toBe('failed');
    expect(record?.attempts).toBe(0);
    expect(record?.nextAttemptAt?.getTime()).toBeLessThanOrEqual(now.getTime());
    expectSameMessage(record!.message!, message);
    expect(keysOf(await claim(store, at(1_000))), 'still behind the failed entry').toEqual([]);
    await store.transaction((tx) => store.complete(failed, at(1_000), tx));
    expect(keysOf(await claim(store, at(2_000)))).toEqual(keys(waiting));
    const done = entry(h, key);
    await processed(store, done, now);
    await store.park(
      { ...done, orderingKey: key, message: failure(done, { nextAttemptAt: now }).message },
      now,
    );
    expect((await find(store, done))?.status, 'an existing entry is left as it is').toBe('processed');
    const dead = entry(h, key);
    await store.fail(failure(dead, { attempts: 11, error: 'poison', nextAttemptAt: null }), now);
    await store.park(
      { ...dead, orderingKey: key, message: failure(dead, { nextAttemptAt: now }).message },
      at(3_000),
    );
    const kept = await find(store, dead);
    expect([kept?.status, kept?.attempts, kept?.lastError], 'a dead entry stays dead').toEqual([
      'dead',
      11,
      'poison',
    ]);
  },
};

const heldWithoutProcessing: InboxCase = {
  name: 'a delivery held without processing (begun, then failed with no attempt, due now) is claimed at once, in key order, and a redelivery is a duplicate',
  async run({ store }) {
    // What core does for an inbox with `processing: false` (ABP's IsProcessingEnabled).
    const { now, at } = clock();
    const h = handlerName();
    const key = `k-${uniqueSuffix()}`;
    const held = [entry(h, key), entry(h, key)];
    for (const e of held) {
      expect(await begin(store, e, { now })).toBe('begun');
      await store.fail(
        failure(e, { attempts: 0, error: 'Held: processing is disabled', nextAttemptAt: now }),
        now,
      );
    }
    const record = await find(store, held[0]!);
    expect([record?.status, record?.attempts]).toEqual(['failed', 0]);
    expect(await begin(store, held[0]!, { now: at(10) }), 'a redelivery while held').toBe('duplicate');
    expect(keysOf(await claim(store, at(1_000)))).toEqual(keys(held[0]!));
    const claimed = await find(store, held[0]!);
    expect(claimed?.message, 'the held message is kept for the processor').not.toBeNull();
  },
};

const completeInTransaction: InboxCase = {
  name: 'complete inside a transaction is invisible outside it until commit',
  async run({ store }) {
    const { now } = clock();
    const e = entry(handlerName());
    await store.transaction(async (tx) => {
      expect(await begin(store, e, { now, tx })).toBe('begun');
      await store.complete(e, now, tx);
      const seenOutside = await find(store, e);
      expect(seenOutside?.status).not.toBe('processed');
    });
    expect((await find(store, e))?.status).toBe('processed');
  },
};

const deleteExpired: InboxCase = {
  name: 'deleteExpired deletes only processed entries older than `before`, at most `limit` per call',
  async run({ store }) {
    const { now, at } = clock();
    const h = handlerName();
    const old = [entry(h), entry(h), entry(h)];
    for (const e of old) await processed(store, e, at(-7_200_000));
    const recent = entry(h);
    await processed(store, recent, now);
    const failed = entry(h);
    const dead = entry(h);
    await store.fail(failure(failed, { nextAttemptAt: at(60_000) }), at(-7_200_000));
    await store.fail(failure(dead, { nextAttemptAt: null }), at(-7_200_000));
    const before = at(-3_600_000);
    expect(await store.deleteExpired(before, 2)).toBe(2);
    expect(await store.deleteExpired(before, 2)).toBe(1);
    expect(await store.deleteExpired(before, 2)).toBe(0);
    const left = await store.list({ handler: h, limit: 100 });
    expect(new Set(keysOf(left))).toEqual(new Set(keys(recent, failed, dead)));
  },
};

const listAndRequeue: InboxCase = {
  name: 'list filters by status, eventName and handler; requeue makes failed and dead entries due now',
  async run({ store }) {
    const { now, at } = clock();
    const h = handlerName();
    const [nameA, nameB] = [uniqueEventName('inbox-a'), uniqueEventName('inbox-b')];
    const done = entry(h, null, nameA);
    const failed = entry(h, null, nameA);
    const dead = entry(h, null, nameB);
    await processed(store, done, now);
    await store.fail(failure(failed, { nextAttemptAt: at(24 * 3_600_000) }), now);
    await store.fail(failure(dead, { nextAttemptAt: null }), now);

    expect(keysOf(await store.list({ handler: h }))).toEqual(keys(done, failed, dead));
    expect(keysOf(await store.list({ eventName: nameB }))).toEqual(keys(dead));
    expect(keysOf(await store.list({ status: 'processed', handler: h }))).toEqual(keys(done));
    expect(keysOf(await store.list({ status: 'failed', eventName: nameA }))).toEqual(keys(failed));
    expect(keysOf(await store.list({ handler: h, limit: 2 }))).toEqual(keys(done, failed));
    expect(await store.list({ handler: handlerName() })).toEqual([]);

    expect(await store.requeue([failed, dead, done], at(1_000))).toBe(2);
    expect(new Set(keysOf(await claim(store, at(1_000))))).toEqual(new Set(keys(failed, dead)));
    expect((await find(store, done))?.status).toBe('processed');
  },
};

const purge: InboxCase = {
  name: 'purge (optional) deletes entries, so their message is no longer deduplicated',
  async run({ store }) {
    const optional = store as InboxStore & { purge?(keys: readonly InboxKey[]): Promise<number> };
    if (!optional.purge) {
      expect(optional.purge, 'purge is optional; absent here').toBeUndefined();
      return;
    }
    const { now } = clock();
    const h = handlerName();
    const done = entry(h);
    const kept = entry(h);
    await processed(store, done, now);
    await processed(store, kept, now);
    expect(await optional.purge([done, entry(h)])).toBe(1);
    expect(keysOf(await store.list({ handler: h }))).toEqual(keys(kept));
    expect(await begin(store, done, { now })).toBe('begun');
  },
};

/**
 * Every check an {@link InboxStore} must pass. Each case gets a fresh fixture
 * whose tables are empty; times are passed explicitly, so lease and retry
 * checks never sleep. The transaction cases use the store's own
 * `transaction`; the visibility case reads outside an open transaction, so
 * the store must serve a read while a transaction is open (every server
 * database does; SQLite needs WAL and a second connection).
 */
export const inboxStoreCases: readonly ConformanceCase<InboxStoreFixture>[] = [
  beginCompleteDuplicate,
  concurrentBegin,
  rollbackRedelivery,
  busy,
  takeover,
  failStores,
  claimDueOrder,
  claimDueHandlers,
  fencedClaimDue,
  fencedComplete,
  inboxErrorHistory,
  claimDueKeyOrder,
  deadEntries,
  chainsBlocked,
  beginManyResults,
  beginManyRollback,
  beginManyConcurrent,
  parking,
  heldWithoutProcessing,
  completeInTransaction,
  deleteExpired,
  listAndRequeue,
  purge,
];

/** Runs one inbox case against a fresh fixture from `create`, always calling its cleanup. */
export function runInboxStoreCase(
  testCase: ConformanceCase<InboxStoreFixture>,
  create: () => Promise<InboxStoreFixture>,
  skip?: (reason: string) => void,
): Promise<void> {
  return runWithFixture(testCase, create, skip);
}

/**
 * Registers the inbox conformance suite with vitest: one `it` per case in
 * {@link inboxStoreCases}.
 *
 * ```ts
 * describeInboxStoreConformance({
 *   name: 'prisma-postgresql',
 *   create: async () => {
 *     await prisma.$executeRaw`TRUNCATE herald_inbox`;
 *     return { store: prismaInbox(prisma) };
 *   },
 * });
 * ```
 */
export function describeInboxStoreConformance(options: InboxStoreConformanceOptions): void {
  describeCases(
    `InboxStore conformance: ${options.name}`,
    inboxStoreCases,
    (testCase, skip) => runInboxStoreCase(testCase, options.create, skip),
    options.timeoutMs,
  );
}
