import type {
  BeginResult,
  Fence,
  InboxBegin,
  InboxChain,
  InboxClaimRequest,
  InboxFailure,
  InboxKey,
  InboxParking,
  InboxRecord,
  InboxStore,
  RecordQuery,
} from '@herald/core';
import { ChaosError, type ChaosOptions } from './options.js';

/**
 * An {@link InboxStore} wrapper whose `complete` fails once per handling —
 * after the handler ran, before its transaction commits — as if the process
 * crashed there. The transaction rolls back and the message is handled again.
 */
export class ChaosInboxStore implements InboxStore {
  /** `chaos(<wrapped store's name>)`, for logs. */
  readonly name: string;
  /** The wrapped store's database name (lock keys and shared transactions stay those of the wrapped store). */
  readonly databaseName: string;
  readonly transactional: boolean;
  readonly durable: boolean;
  /** The wrapped store. */
  readonly inner: InboxStore;
  /** Forwarded when the wrapped store has it. */
  readonly purge?: (keys: readonly InboxKey[]) => Promise<number>;
  readonly #options: ChaosOptions;
  readonly #crashed = new Set<string>();

  constructor(inner: InboxStore, options: ChaosOptions) {
    this.inner = inner;
    this.name = `chaos(${inner.name})`;
    this.databaseName = inner.databaseName;
    this.transactional = inner.transactional;
    this.durable = inner.durable;
    this.#options = options;
    const optional = inner as { purge?: ChaosInboxStore['purge'] };
    if (optional.purge) this.purge = (keys) => optional.purge!.call(inner, keys);
  }

  /** Handlings (`handler/messageId`) whose completion was made to fail. */
  get crashedHandlings(): ReadonlySet<string> {
    return this.#crashed;
  }

  transaction<T>(work: (tx: unknown) => Promise<T>): Promise<T> {
    return this.inner.transaction(work);
  }

  tryBegin(key: InboxBegin, tx?: unknown): Promise<BeginResult> {
    return this.inner.tryBegin(key, tx);
  }

  beginMany(entries: readonly InboxBegin[], tx?: unknown): Promise<BeginResult[]> {
    return this.inner.beginMany(entries, tx);
  }

  async complete(key: InboxKey, now: Date, tx?: unknown, fence?: Fence): Promise<void> {
    const handling = `${key.handler}/${key.messageId}`;
    if (this.#options.crashAfterHandler && !this.#crashed.has(handling)) {
      this.#crashed.add(handling);
      throw new ChaosError(`crashed after handler "${key.handler}" ran, before its inbox entry committed`);
    }
    return this.inner.complete(key, now, tx, fence);
  }

  fail(failure: InboxFailure, now: Date): Promise<void> {
    return this.inner.fail(failure, now);
  }

  blockedChains(chains: readonly InboxChain[]): Promise<boolean[]> {
    return this.inner.blockedChains(chains);
  }

  park(parking: InboxParking, now: Date): Promise<void> {
    return this.inner.park(parking, now);
  }

  claimDue(request: InboxClaimRequest): Promise<InboxRecord[]> {
    return this.inner.claimDue(request);
  }

  deleteExpired(before: Date, limit: number): Promise<number> {
    return this.inner.deleteExpired(before, limit);
  }

  list(query: RecordQuery & { handler?: string }): Promise<InboxRecord[]> {
    return this.inner.list(query);
  }

  requeue(keys: readonly InboxKey[], now: Date): Promise<number> {
    return this.inner.requeue(keys, now);
  }

  /** Closes the wrapped store (when it has `close`). */
  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
