import type {
  ClaimRequest,
  OutboxEntry,
  OutboxFailure,
  OutboxRecord,
  OutboxStore,
  RecordQuery,
} from '@herald/core';
import { stableChance } from '../internal/random.js';
import { ChaosError, type ChaosOptions } from './options.js';

/**
 * An {@link OutboxStore} wrapper whose `markPublished` fails once for some
 * records (chosen by seed and message id), as if the relay crashed after the
 * broker confirmed them: nothing in the call is marked, the records stay
 * leased, and the relay sends them again when the lease expires.
 */
export class ChaosOutboxStore implements OutboxStore {
  readonly name: string;
  readonly databaseName: string;
  readonly transactional: boolean;
  /** The wrapped store. */
  readonly inner: OutboxStore;
  /** Forwarded when the wrapped store has it. */
  readonly onWake?: (listener: () => void) => () => void;
  /** Forwarded when the wrapped store has it. */
  readonly wakesOnCommit?: () => boolean;
  /** Forwarded when the wrapped store has it. */
  readonly purge?: (ids: readonly string[]) => Promise<number>;
  /** Forwarded when the wrapped store has it. */
  readonly backlog?: () => Promise<{
    /** The wrapped store's count of unpublished records. */
    pending: number;
    /** Since when the wrapped store's oldest waiting record has waited; `null` when none waits. */
    oldestCreatedAt: Date | null;
  }>;
  readonly #options: ChaosOptions;
  readonly #crashed = new Set<string>();

  constructor(inner: OutboxStore, options: ChaosOptions) {
    this.inner = inner;
    this.name = `chaos(${inner.name})`;
    this.databaseName = inner.databaseName;
    this.transactional = inner.transactional;
    this.#options = options;
    if (inner.onWake) this.onWake = (listener) => inner.onWake!(listener);
    if (inner.wakesOnCommit) this.wakesOnCommit = () => inner.wakesOnCommit!();
    // Optional members of newer ports, forwarded without depending on them.
    const optional = inner as { purge?: ChaosOutboxStore['purge']; backlog?: ChaosOutboxStore['backlog'] };
    if (optional.purge) this.purge = (ids) => optional.purge!.call(inner, ids);
    if (optional.backlog) this.backlog = () => optional.backlog!.call(inner);
  }

  /** Ids whose `markPublished` was made to fail (each at most once). */
  get crashedIds(): ReadonlySet<string> {
    return this.#crashed;
  }

  add(messages: readonly OutboxEntry[], tx?: unknown): Promise<void> {
    return this.inner.add(messages, tx);
  }

  claim(request: ClaimRequest): Promise<OutboxRecord[]> {
    return this.inner.claim(request);
  }

  async markPublished(ids: readonly string[], now: Date): Promise<void> {
    if (this.#options.crashBetweenPublishAndMark) {
      const rate = this.#options.crashRate ?? 0.5;
      const seed = this.#options.seed ?? 1;
      const victims = ids.filter((id) => !this.#crashed.has(id) && stableChance(seed, id) < rate);
      if (victims.length > 0) {
        for (const id of victims) this.#crashed.add(id);
        throw new ChaosError(`crashed after sending ${ids.length} record(s), before marking them published`);
      }
    }
    return this.inner.markPublished(ids, now);
  }

  markFailed(failures: readonly OutboxFailure[], now: Date): Promise<void> {
    return this.inner.markFailed(failures, now);
  }

  release(ids: readonly string[]): Promise<void> {
    return this.inner.release(ids);
  }

  deleteExpired(before: Date, limit: number): Promise<number> {
    return this.inner.deleteExpired(before, limit);
  }

  list(query: RecordQuery): Promise<OutboxRecord[]> {
    return this.inner.list(query);
  }

  requeue(ids: readonly string[], now: Date): Promise<number> {
    return this.inner.requeue(ids, now);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
