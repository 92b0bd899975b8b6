import { expect } from 'vitest';
import { uniqueSuffix } from '../internal/random.js';
import { sleep } from '../internal/wait.js';
import { RollbackSignal } from './assertions.js';
import { type ConformanceCase, describeCases, runWithFixture } from './case.js';

/** What a store knows about one local copy (tombstones included); the shape of entity-sync's `LocalCopy`. */
export interface LocalCopyLike<L> {
  /** The local entity; undefined for a tombstone. */
  readonly entity: L | undefined;
  /** Version of the last applied change (create, update or delete); undefined when the change had none. */
  readonly version: number | undefined;
  /** True for a tombstone: the entity was deleted (its version still guards against older changes). */
  readonly deleted: boolean;
  /** When the last change was applied locally (epoch ms). */
  readonly appliedAt: number;
}

/**
 * The shape of entity-sync's `LocalEntityStore`, restated here so the testkit
 * does not depend on entity-sync (which dev-depends on the testkit).
 */
export interface LocalEntityStoreLike<L> {
  /** The local copy (or tombstone) of `key`, read in `tx` when given; undefined when there is none. */
  get(key: string, tx: unknown): Promise<LocalCopyLike<L> | undefined>;
  /** Stores `entity` under `key` with `version`, unless the stored version is not older (then nothing changes). */
  put(key: string, entity: L, version: number | undefined, tx: unknown): Promise<void>;
  /** Leaves a tombstone with `version` for `key`, unless the stored version is not older (then nothing changes). */
  remove(key: string, version: number | undefined, tx: unknown): Promise<void>;
  /** Keys of live (not deleted) copies. */
  keys(tx: unknown): Promise<string[]>;
}

/** What each local-entity-store case receives: a store over an empty table or collection. */
export interface LocalEntityStoreFixture<L> {
  /** The store under test. It must hold no copies (clear its table in `create`). */
  readonly store: LocalEntityStoreLike<L>;
  /** Runs `work(tx)` in one database transaction of the store: commits when it resolves, rolls back when it rejects. */
  transaction<T>(work: (tx: unknown) => Promise<T>): Promise<T>;
  /** A distinct entity for `key` (revision 1, 2, …): what the store keeps, as `get` returns it. */
  entity(key: string, revision: number): L;
  /**
   * Set (to the reason) when the database cannot roll a transaction back
   * (FerretDB): the rollback case then reports itself as skipped.
   */
  readonly noRollback?: string;
  /** Called after each case (close clients, drop data). */
  readonly cleanup?: () => Promise<void>;
}

/** Options of {@link describeLocalEntityStoreConformance}. */
export interface LocalEntityStoreConformanceOptions<L> {
  /** Shown in the vitest `describe` title. */
  readonly name: string;
  /** Creates a fresh fixture for one case. */
  readonly create: () => Promise<LocalEntityStoreFixture<L>>;
  /** Per-case vitest timeout; default 30 s. */
  readonly timeoutMs?: number;
}

type StoreCase = ConformanceCase<LocalEntityStoreFixture<any>>;

function keyMaker(): () => string {
  const prefix = `k-${uniqueSuffix()}`;
  let next = 0;
  return () => `${prefix}-${++next}`;
}

async function expectLive<L>(
  fixture: LocalEntityStoreFixture<L>,
  key: string,
  revision: number,
  version: number | undefined,
  what: string,
): Promise<void> {
  const copy = await fixture.store.get(key, undefined);
  expect(copy, what).toBeDefined();
  expect(copy?.deleted, `${what}: deleted`).toBe(false);
  expect(copy?.entity, `${what}: entity`).toEqual(fixture.entity(key, revision));
  expect(copy?.version, `${what}: version`).toBe(version);
}

async function expectTombstone<L>(
  fixture: LocalEntityStoreFixture<L>,
  key: string,
  version: number | undefined,
  what: string,
): Promise<void> {
  const copy = await fixture.store.get(key, undefined);
  expect(copy, `${what}: a tombstone, not nothing`).toBeDefined();
  expect(copy?.deleted, `${what}: deleted`).toBe(true);
  expect(copy?.entity, `${what}: entity`).toBeUndefined();
  expect(copy?.version, `${what}: version`).toBe(version);
}

const putThenGet: StoreCase = {
  name: 'put then get returns the copy with its version; an unknown key has no copy',
  async run(fixture) {
    const key = keyMaker();
    const a = key();
    expect(await fixture.store.get(a, undefined), 'before any write').toBeUndefined();
    await fixture.store.put(a, fixture.entity(a, 1), 1, undefined);
    await expectLive(fixture, a, 1, 1, 'after put v1');
    await fixture.store.put(a, fixture.entity(a, 2), 7, undefined);
    await expectLive(fixture, a, 2, 7, 'after put v7');
    expect(await fixture.store.get(key(), undefined), 'another key').toBeUndefined();
  },
};

const olderNeverOverwrites: StoreCase = {
  name: 'an older (or equal) version never overwrites a newer one, by put or remove',
  async run(fixture) {
    const a = keyMaker()();
    await fixture.store.put(a, fixture.entity(a, 3), 3, undefined);
    await fixture.store.put(a, fixture.entity(a, 1), 1, undefined);
    await expectLive(fixture, a, 3, 3, 'after an older put');
    await fixture.store.put(a, fixture.entity(a, 4), 3, undefined);
    await expectLive(fixture, a, 3, 3, 'after a put of the same version');
    await fixture.store.remove(a, 2, undefined);
    await expectLive(fixture, a, 3, 3, 'after an older remove');
    await fixture.store.remove(a, 3, undefined);
    await expectLive(fixture, a, 3, 3, 'after a remove of the same version');
    await fixture.store.put(a, fixture.entity(a, 5), 5, undefined);
    await expectLive(fixture, a, 5, 5, 'a newer put still writes');
  },
};

const unversionedAlwaysWrites: StoreCase = {
  name: 'an undefined version always writes (put and remove), and any version writes over it',
  async run(fixture) {
    const a = keyMaker()();
    await fixture.store.put(a, fixture.entity(a, 1), 5, undefined);
    await fixture.store.put(a, fixture.entity(a, 2), undefined, undefined);
    await expectLive(fixture, a, 2, undefined, 'an unversioned put over v5');
    await fixture.store.put(a, fixture.entity(a, 3), 1, undefined);
    await expectLive(fixture, a, 3, 1, 'a versioned put over an unversioned copy');
    await fixture.store.remove(a, undefined, undefined);
    await expectTombstone(fixture, a, undefined, 'an unversioned remove');
  },
};

const tombstones: StoreCase = {
  name: 'remove leaves a tombstone (deleted, no entity, version kept) that an older put cannot resurrect',
  async run(fixture) {
    const key = keyMaker();
    const a = key();
    await fixture.store.put(a, fixture.entity(a, 1), 1, undefined);
    await fixture.store.remove(a, 4, undefined);
    await expectTombstone(fixture, a, 4, 'after remove v4');
    await fixture.store.put(a, fixture.entity(a, 2), 2, undefined);
    await expectTombstone(fixture, a, 4, 'after an older put');
    await fixture.store.put(a, fixture.entity(a, 3), 4, undefined);
    await expectTombstone(fixture, a, 4, 'after a put of the same version');
    await fixture.store.put(a, fixture.entity(a, 5), 5, undefined);
    await expectLive(fixture, a, 5, 5, 'a newer put recreates the copy');

    // A delete that arrives before the create it follows.
    const b = key();
    await fixture.store.remove(b, 2, undefined);
    await expectTombstone(fixture, b, 2, 'a remove of an unknown key');
    await fixture.store.put(b, fixture.entity(b, 1), 1, undefined);
    await expectTombstone(fixture, b, 2, 'the late create');
  },
};

const keysOfLiveCopies: StoreCase = {
  name: 'keys lists the live copies only, not tombstones',
  async run(fixture) {
    const key = keyMaker();
    const [a, b, c, d] = [key(), key(), key(), key()];
    expect(await fixture.store.keys(undefined), 'an empty store').toEqual([]);
    for (const k of [a, b, c]) await fixture.store.put(k, fixture.entity(k, 1), 1, undefined);
    await fixture.store.remove(b, 2, undefined);
    await fixture.store.remove(d, 1, undefined);
    expect((await fixture.store.keys(undefined)).sort()).toEqual([a, c].sort());
    await fixture.store.put(b, fixture.entity(b, 3), 3, undefined);
    expect((await fixture.store.keys(undefined)).sort()).toEqual([a, b, c].sort());
  },
};

const commitsWithTx: StoreCase = {
  name: 'writes through tx commit with the transaction',
  async run(fixture) {
    const key = keyMaker();
    const [a, b] = [key(), key()];
    await fixture.store.put(b, fixture.entity(b, 1), 1, undefined);
    await fixture.transaction(async (tx) => {
      await fixture.store.put(a, fixture.entity(a, 2), 2, tx);
      await fixture.store.remove(b, 2, tx);
    });
    await expectLive(fixture, a, 2, 2, 'a put in the committed transaction');
    await expectTombstone(fixture, b, 2, 'a remove in the committed transaction');
    expect(await fixture.store.keys(undefined)).toEqual([a]);
  },
};

const rollbackLeavesNothing: StoreCase = {
  name: 'a transaction that rolls back leaves nothing of its writes behind',
  async run(fixture, skip) {
    if (fixture.noRollback !== undefined) {
      (skip ?? (() => undefined))(fixture.noRollback);
      return;
    }
    const key = keyMaker();
    const [a, b] = [key(), key()];
    await fixture.store.put(a, fixture.entity(a, 1), 1, undefined);
    await expect(
      fixture.transaction(async (tx) => {
        await fixture.store.put(a, fixture.entity(a, 2), 2, tx);
        await fixture.store.put(b, fixture.entity(b, 1), 1, tx);
        throw new RollbackSignal();
      }),
    ).rejects.toBeInstanceOf(RollbackSignal);
    await expect(
      fixture.transaction(async (tx) => {
        await fixture.store.remove(a, 3, tx);
        throw new RollbackSignal();
      }),
    ).rejects.toBeInstanceOf(RollbackSignal);
    await expectLive(fixture, a, 1, 1, 'the copy the rolled-back transactions wrote to');
    expect(
      await fixture.store.get(b, undefined),
      'a copy only the rolled-back transaction wrote',
    ).toBeUndefined();
    expect(await fixture.store.keys(undefined)).toEqual([a]);
    // The versions the rolled-back transactions claimed are not taken: they still apply.
    await fixture.store.put(a, fixture.entity(a, 2), 2, undefined);
    await expectLive(fixture, a, 2, 2, 'the version a rolled-back transaction wrote');
  },
};

const concurrentVersions: StoreCase = {
  name: 'two concurrent transactions writing versions 2 and 3 of one key leave 3, whatever the commit order',
  async run(fixture) {
    const key = keyMaker();
    // The first transaction writes, then holds its transaction open while the second one writes:
    // once with version 3 first (the older write must lose to it) and once with 2 first.
    for (const [first, second] of [
      [3, 2],
      [2, 3],
    ] as const) {
      const k = key();
      const write = (version: number, holdMs: number) =>
        fixture.transaction(async (tx) => {
          await fixture.store.put(k, fixture.entity(k, version), version, tx);
          await sleep(holdMs);
        });
      await Promise.all([write(first, 150), sleep(30).then(() => write(second, 0))]);
      await expectLive(fixture, k, 3, 3, `versions ${first} then ${second}`);
    }
  },
};

/** Every check a local entity store (entity-sync's `LocalEntityStore`) must pass. */
export const localEntityStoreCases: readonly StoreCase[] = [
  putThenGet,
  olderNeverOverwrites,
  unversionedAlwaysWrites,
  tombstones,
  keysOfLiveCopies,
  commitsWithTx,
  rollbackLeavesNothing,
  concurrentVersions,
];

/** Runs one local-entity-store case against a fresh fixture from `create`. */
export function runLocalEntityStoreCase<L>(
  testCase: ConformanceCase<LocalEntityStoreFixture<L>>,
  create: () => Promise<LocalEntityStoreFixture<L>>,
  skip?: (reason: string) => void,
): Promise<void> {
  return runWithFixture(testCase, create, skip);
}

/**
 * Registers the local-entity-store conformance suite with vitest: one `it`
 * per case in {@link localEntityStoreCases}.
 *
 * ```ts
 * describeLocalEntityStoreConformance({
 *   name: 'memory',
 *   create: async () => {
 *     const database = new MemoryDatabase();
 *     return {
 *       store: new MemoryEntityStore(database, 'copies'),
 *       transaction: (work) => database.transaction(work),
 *       entity: (key, revision) => ({ id: key, revision }),
 *     };
 *   },
 * });
 * ```
 */
export function describeLocalEntityStoreConformance<L>(options: LocalEntityStoreConformanceOptions<L>): void {
  describeCases(
    `LocalEntityStore conformance: ${options.name}`,
    localEntityStoreCases,
    (testCase, skip) => runLocalEntityStoreCase(testCase, options.create, skip),
    options.timeoutMs,
  );
}
