import type { Envelope } from '../envelope.js';
import { MalformedMessageError } from '../errors.js';
import type { HandlerRegistration } from '../handlers.js';
import type { BeginResult, InboxBegin, InboxChain, InboxStore } from '../ports/inbox-store.js';
import type { WireMessage } from '../wire.js';
import { HandlerFailure, type Invocation } from './handler-invocation.js';

/** One (delivery, handler) pair waiting for an inbox transaction. */
export interface InboxWork {
  readonly handler: HandlerRegistration;
  readonly envelope: Envelope;
  readonly event: unknown;
  readonly message: WireMessage;
}

/** How a batch left one piece of work. */
export type BatchResult =
  /** Handled; its inbox entry committed with the handler's writes. */
  | { readonly kind: 'handled' }
  /** Already handled (or owned by the retry queue): acknowledge. */
  | { readonly kind: 'duplicate' }
  /** Another consumer (or a copy in this batch) is handling it right now: redeliver later. */
  | { readonly kind: 'busy' }
  /** Its key is parked behind an earlier failure: stored to run after it. */
  | { readonly kind: 'parked' }
  /**
   * The handler failed its first attempt; nothing of it committed. `owned`:
   * a non-transactional store already holds its entry under this consumer's lease.
   */
  | { readonly kind: 'handler-failed'; readonly error: unknown; readonly owned: boolean }
  /** The store failed; nothing of it committed. */
  | { readonly kind: 'store-failed'; readonly error: unknown };

/** What the batcher needs from the consumer. */
export interface BatcherDeps {
  readonly inbox: InboxStore;
  /** The most pieces of work one transaction holds. */
  readonly batchSize: number;
  /** Transactions this inbox runs at once. */
  readonly maxBatches: number;
  /** Lease of entries begun outside a transaction, for a batch of `size` (its handlers run one by one). */
  readonly leaseFor: (size: number) => number;
  /** Runs a handler; throws {@link HandlerFailure}; resolves true when it published follow-ups. */
  readonly invoke: (run: Invocation) => Promise<boolean>;
  /** A transaction that wrote follow-up events has committed. */
  readonly onFollowUpCommitted: () => void;
}

interface Pending {
  readonly work: InboxWork;
  readonly resolve: (result: BatchResult) => void;
}

/** How one transaction over a batch ended. */
type Attempt =
  | { readonly results: readonly BatchResult[] }
  | { readonly failedAt: number; readonly error: unknown };

/**
 * Group commit for one inbox: work that is ready at the same moment runs in
 * one inbox transaction — one statement to recognise duplicates, the handlers
 * one after another with the same `tx`, one commit.
 *
 * A batch closes when nothing more is ready (it is filled on the next turn of
 * the event loop, never by waiting on a timer): at low load a delivery runs
 * alone at once, and work that is ready together is spread over the free
 * transactions (handlers of different keys overlap); under load batches grow
 * up to `batchSize` while earlier ones commit. When a handler throws, the transaction rolls back and the batch runs
 * again without it, so a failure never takes the others' work down; the
 * failing work goes back to the caller for its retries.
 */
export class InboxBatcher {
  readonly #deps: BatcherDeps;
  readonly #pending: Pending[] = [];
  #running = 0;
  #scheduled = false;

  constructor(deps: BatcherDeps) {
    this.#deps = deps;
  }

  /** Queues work for the next transaction of this inbox; never rejects. */
  submit(work: InboxWork): Promise<BatchResult> {
    return new Promise((resolve) => {
      this.#pending.push({ work, resolve });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#running >= this.#deps.maxBatches || this.#pending.length === 0) return;
    this.#scheduled = true;
    // Deliveries that arrive in this turn of the event loop join the batch.
    setImmediate(() => {
      this.#scheduled = false;
      // Ready work is spread over the free transactions, so handlers of different keys still
      // overlap at low load; under load every transaction is busy and work piles up into
      // bigger batches for the next one that frees.
      const free = this.#deps.maxBatches - this.#running;
      const share = Math.min(this.#deps.batchSize, Math.ceil(this.#pending.length / Math.max(free, 1)));
      while (this.#running < this.#deps.maxBatches && this.#pending.length > 0) {
        const batch = this.#pending.splice(0, share);
        this.#running++;
        void this.#run(batch).finally(() => {
          this.#running--;
          this.#schedule();
        });
      }
    });
  }

  async #run(batch: readonly Pending[]): Promise<void> {
    try {
      const fresh = this.#withoutCopies(batch);
      const unparked = await this.#parkBlocked(fresh);
      await this.#commit(unparked);
    } catch (error) {
      // Not expected (each step settles its own work), but no work may be left hanging.
      for (const pending of batch) pending.resolve({ kind: 'store-failed', error });
    }
  }

  /** A second copy of the same handling in one batch waits for the first and is then absorbed. */
  #withoutCopies(batch: readonly Pending[]): Pending[] {
    // Same handling (handler, message id) → its deliveries in arrival order; the first one runs.
    const byHandling = new Map<string, Pending[]>();
    for (const pending of batch) {
      const key = `${pending.work.handler.name}\u0000${pending.work.envelope.id}`;
      const group = byHandling.get(key);
      if (group) group.push(pending);
      else byHandling.set(key, [pending]);
    }
    if (byHandling.size === batch.length) return [...batch];
    return [...byHandling.values()].map(([original, ...copies]) =>
      copies.length === 0
        ? original!
        : {
            work: original!.work,
            resolve: (result: BatchResult) => {
              original!.resolve(result);
              for (const copy of copies)
                copy.resolve(result.kind === 'handled' ? { kind: 'duplicate' } : { kind: 'busy' });
            },
          },
    );
  }

  /** Work whose key is parked is stored behind it (one query for the whole batch). */
  async #parkBlocked(batch: Pending[]): Promise<Pending[]> {
    const keyed = batch.filter((pending) => pending.work.envelope.orderingKey !== undefined);
    if (keyed.length === 0) return batch;
    const { inbox } = this.#deps;
    let blocked: boolean[];
    try {
      blocked = await inbox.blockedChains(keyed.map((pending) => chainOf(pending.work)));
    } catch (error) {
      for (const pending of batch) pending.resolve({ kind: 'store-failed', error });
      return [];
    }
    const parked = new Set(keyed.filter((_, index) => blocked[index]));
    for (const pending of parked) {
      const { work } = pending;
      try {
        await inbox.park(
          {
            messageId: work.envelope.id,
            handler: work.handler.name,
            eventName: work.envelope.name,
            orderingKey: work.envelope.orderingKey!,
            message: work.message,
          },
          new Date(),
        );
        pending.resolve({ kind: 'parked' });
      } catch (error) {
        pending.resolve({ kind: 'store-failed', error });
      }
    }
    return parked.size === 0 ? batch : batch.filter((pending) => !parked.has(pending));
  }

  /** Commits the batch, running it again without each piece of work whose handler failed. */
  async #commit(batch: readonly Pending[]): Promise<void> {
    let remaining = batch;
    while (remaining.length > 0) {
      const attempt = await this.#attempt(remaining.map((pending) => pending.work));
      if ('results' in attempt) {
        for (const [index, pending] of remaining.entries()) pending.resolve(attempt.results[index]!);
        return;
      }
      const failing = remaining[attempt.failedAt]!;
      failing.resolve({ kind: 'handler-failed', error: attempt.error, owned: false });
      remaining = remaining.filter((pending) => pending !== failing);
    }
  }

  /** One transaction over `works`; on a handler failure, rolls back and says which one. */
  async #attempt(works: readonly InboxWork[]): Promise<Attempt> {
    const { inbox } = this.#deps;
    const atomic = inbox.transactional;
    const results: BatchResult[] = [];
    let failure: { failedAt: number; error: unknown } | undefined;
    let followUps = false;
    try {
      await inbox.transaction(async (tx) => {
        const now = new Date();
        const begins: BeginResult[] = await inbox.beginMany(
          works.map((work) => beginOf(work, now, this.#deps.leaseFor(works.length))),
          tx,
        );
        for (const [index, work] of works.entries()) {
          const begun = begins[index];
          if (begun !== 'begun') {
            results[index] = { kind: begun === 'busy' ? 'busy' : 'duplicate' };
            continue;
          }
          try {
            const run = {
              handler: work.handler,
              envelope: work.envelope,
              event: work.event,
              tx,
              attempt: 1,
              inbox,
            };
            if (await this.#deps.invoke(run)) followUps = true;
          } catch (error) {
            if (!(error instanceof HandlerFailure)) throw error;
            if (!atomic) {
              // Nothing to roll back: the others' entries are already final.
              results[index] = { kind: 'handler-failed', error: error.original, owned: true };
              continue;
            }
            failure = { failedAt: index, error: error.original };
            throw error;
          }
          await inbox.complete({ messageId: work.envelope.id, handler: work.handler.name }, new Date(), tx);
          results[index] = { kind: 'handled' };
        }
      });
    } catch (error) {
      if (failure) return failure;
      return { results: await this.#afterStoreFailure(works, error) };
    }
    if (followUps) this.#deps.onFollowUpCommitted();
    return { results };
  }

  /**
   * A store error fails the whole batch. One that names bad input (a key the
   * store cannot hold) belongs to one piece of work: run them one by one so
   * only that one fails.
   */
  async #afterStoreFailure(works: readonly InboxWork[], error: unknown): Promise<BatchResult[]> {
    if (!(error instanceof MalformedMessageError) || works.length === 1) {
      return works.map(() => ({ kind: 'store-failed', error }));
    }
    const results: BatchResult[] = [];
    for (const work of works) {
      const alone = await this.#attempt([work]);
      results.push(
        'results' in alone ? alone.results[0]! : { kind: 'handler-failed', error: alone.error, owned: false },
      );
    }
    return results;
  }
}

function chainOf(work: InboxWork): InboxChain {
  return { handler: work.handler.name, orderingKey: work.envelope.orderingKey! };
}

function beginOf(work: InboxWork, now: Date, leaseMs: number): InboxBegin {
  return {
    messageId: work.envelope.id,
    handler: work.handler.name,
    eventName: work.envelope.name,
    orderingKey: work.envelope.orderingKey ?? null,
    leaseMs,
    now,
  };
}
