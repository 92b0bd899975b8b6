import type { HandlerContext, IntegrationEventBusBuilder } from '@herald/core';
import type { EntityChange, EntityEventTypes } from './entity-events.js';
import type { LocalEntityStore } from './local-store.js';
import { readSnapshot, type SnapshotSource } from './snapshots.js';

/** Outcome of applying one change or snapshot item. */
export type ApplyResult = 'applied' | 'ignored-older' | 'ignored-kind';

/** What a drift check found between the source snapshot and the local copy. */
export interface DriftReport {
  /** In the source, not here. */
  readonly missing: string[];
  /** Here, not in the source. */
  readonly extra: string[];
  /** Here with an older version than the source. */
  readonly stale: string[];
  /** How many snapshot items were compared. */
  readonly checked: number;
}

/** Options of an {@link EntitySynchronizer}. */
export interface EntitySynchronizerOptions<L, E> {
  /** The remote entity's events (`entityEvents(name)`, same name as the producer). */
  readonly events: EntityEventTypes<E>;
  /** Where local copies live. */
  readonly store: LocalEntityStore<L>;
  /** Stable handler name (inbox key). Default: `<events.name>.synchronizer`. */
  readonly handlerName?: string;
  /** Runs a unit of work for backfill writes (your DB transaction); default: no transaction. */
  readonly transaction?: <T>(work: (tx: unknown) => Promise<T>) => Promise<T>;
}

/**
 * Keeps a local copy of a remote entity from its created/updated/deleted
 * events (ABP's EntitySynchronizer). Extend it to change the mapping
 * (`mapToEntity`) or the key (`keyOf`, e.g. for composite keys), or set
 * `ignoreCreated/Updated/Deleted`.
 *
 * Versions make it order-proof: a change whose version is not newer than the
 * local copy (or its tombstone) is ignored, so shuffled, duplicated and late
 * events — and backfill pages racing live events — converge to the source.
 */
export class EntitySynchronizer<L, E> {
  /** When true, `created` events are not applied ({@link apply} returns `ignored-kind`). Default false. */
  ignoreCreated = false;
  /** When true, `updated` events are not applied ({@link apply} returns `ignored-kind`). Default false. */
  ignoreUpdated = false;
  /**
   * When true, `deleted` events are not applied ({@link apply} returns `ignored-kind`): local
   * copies outlive the source. Default false.
   */
  ignoreDeleted = false;
  /** The remote entity's three events this synchronizer handles. */
  protected readonly events: EntityEventTypes<E>;
  /** Where the local copies live. */
  protected readonly store: LocalEntityStore<L>;
  /** The stable handler name it registers with (its inbox key); default `<events.name>.synchronizer`. */
  readonly handlerName: string;
  readonly #transaction: EntitySynchronizerOptions<L, E>['transaction'];

  constructor(options: EntitySynchronizerOptions<L, E>) {
    this.events = options.events;
    this.store = options.store;
    this.handlerName = options.handlerName ?? `${options.events.name}.synchronizer`;
    this.#transaction = options.transaction;
  }

  /** Registers this synchronizer as the handler of the three entity events. */
  register(builder: IntegrationEventBusBuilder): IntegrationEventBusBuilder {
    return builder.handle([this.events.Created, this.events.Updated, this.events.Deleted], this, {
      name: this.handlerName,
    });
  }

  /** Handler entry point (called by the bus). */
  async handle(change: EntityChange<E>, context: HandlerContext): Promise<void> {
    const kind = context.envelope.name.slice(this.events.name.length + 1) as
      | 'created'
      | 'updated'
      | 'deleted';
    await this.apply(kind, change, context.tx);
  }

  /** Applies one change in `tx`. Public for tests and custom transports. */
  async apply(
    kind: 'created' | 'updated' | 'deleted',
    change: EntityChange<E>,
    tx: unknown,
  ): Promise<ApplyResult> {
    if (
      (kind === 'created' && this.ignoreCreated) ||
      (kind === 'updated' && this.ignoreUpdated) ||
      (kind === 'deleted' && this.ignoreDeleted)
    ) {
      return 'ignored-kind';
    }
    const key = this.keyOf(change);
    const local = await this.store.get(key, tx);
    if (!isNewer(change.version, local?.version)) return 'ignored-older';
    if (kind === 'deleted') {
      await this.store.remove(key, change.version, tx);
    } else {
      await this.store.put(
        key,
        await this.mapToEntity(change.entity, local?.deleted ? undefined : local?.entity),
        change.version,
        tx,
      );
    }
    return 'applied';
  }

  /**
   * Copies the source's current state: applies every snapshot item that is
   * newer than the local copy. Run it with the bus started so live events keep
   * flowing meanwhile — versions settle any race. With `reconcile: true`,
   * local copies absent from the source and not touched since the backfill
   * began are removed (deleted while nobody listened).
   */
  async backfill(
    source: SnapshotSource<E>,
    options: { pageSize?: number; reconcile?: boolean } = {},
  ): Promise<{
    /** Snapshot items written locally (newer than, or absent from, the local copy). */
    applied: number;
    /** Local copies removed by `reconcile` (0 without it). */
    removed: number;
  }> {
    const startedAt = Date.now();
    const seen = new Set<string>();
    let applied = 0;
    for await (const item of readSnapshot(source, options.pageSize ?? 500)) {
      seen.add(item.keysAsString);
      const result = await this.#inTransaction((tx) =>
        this.apply(
          'updated',
          {
            entityType: this.events.name,
            keys: {},
            keysAsString: item.keysAsString,
            ...(item.version !== undefined ? { version: item.version } : {}),
            entity: item.entity,
          },
          tx,
        ),
      );
      if (result === 'applied') applied++;
    }
    let removed = 0;
    if (options.reconcile) {
      for (const key of await this.store.keys(undefined)) {
        if (seen.has(key)) continue;
        const done = await this.#inTransaction(async (tx) => {
          const local = await this.store.get(key, tx);
          if (!local || local.deleted || local.appliedAt >= startedAt) return false;
          // No version: the source no longer has it at all, so any later change may apply.
          await this.store.remove(key, undefined, tx);
          return true;
        });
        if (done) removed++;
      }
    }
    return { applied, removed };
  }

  /** Compares the source snapshot with the local copies without changing anything. */
  async checkDrift(source: SnapshotSource<E>, options: { pageSize?: number } = {}): Promise<DriftReport> {
    const report = { missing: [] as string[], extra: [] as string[], stale: [] as string[], checked: 0 };
    const seen = new Set<string>();
    for await (const item of readSnapshot(source, options.pageSize ?? 500)) {
      report.checked++;
      seen.add(item.keysAsString);
      const local = await this.store.get(item.keysAsString, undefined);
      if (!local || local.deleted) report.missing.push(item.keysAsString);
      else if (item.version !== undefined && (local.version === undefined || local.version < item.version))
        report.stale.push(item.keysAsString);
    }
    for (const key of await this.store.keys(undefined)) if (!seen.has(key)) report.extra.push(key);
    return report;
  }

  /** The local key of a change. Default: `keysAsString` (composite keys joined with ","). */
  protected keyOf(change: EntityChange<E>): string {
    return change.keysAsString;
  }

  /** Maps the transfer object to the local entity (ABP's MapToEntityAsync). Default: a copy of the ETO. */
  protected mapToEntity(eto: E, _existing: L | undefined): L | Promise<L> {
    return { ...(eto as object) } as L;
  }

  #inTransaction<T>(work: (tx: unknown) => Promise<T>): Promise<T> {
    return this.#transaction ? this.#transaction(work) : work(undefined);
  }
}

/** Without versions every change applies (ABP without IHasEntityVersion); with them only newer ones. */
function isNewer(incoming: number | undefined, local: number | undefined): boolean {
  if (incoming === undefined || local === undefined) return true;
  return incoming > local;
}
