import {
  BusStateError,
  describeError,
  HeraldError,
  StaleFencingTokenError,
  TransportError,
} from './errors.js';
import type { EventLogConfig } from './event-log.js';
import type { Monitor } from './monitoring.js';
import type { HeraldOptions } from './options.js';
import type { Logger } from './ports/logger.js';
import type { ClaimRequest, Fence, OutboxRecord, OutboxStore } from './ports/outbox-store.js';
import type { PublishOutcome, Transport } from './ports/transport.js';
import { decideRetry } from './retry-policy.js';
import { ClaimLoop } from './runtime/claim-loop.js';
import type { LeaseKeeper } from './runtime/lease-keeper.js';
import { Outage } from './runtime/outage.js';
import { sleep } from './runtime/timers.js';
import { heraldMetrics, inSendSpan } from './telemetry.js';

/** One batch after its publish: what the broker confirmed and what failed. */
interface SentBatch {
  published: OutboxRecord[];
  failed: Array<{ record: OutboxRecord; error: unknown }>;
}

interface LocalRetry {
  record: OutboxRecord;
  /** The fence the record was claimed under: its retries and marks use it, never a later lease's. */
  fence: Fence | undefined;
  localAttempts: number;
  timer: NodeJS.Timeout;
  lastError: unknown;
}

/** Quick re-checks after a publish whose transaction commits later than we can see. */
const NUDGE_DELAYS_MS = [2, 10, 50, 200];
/** Sharded relays: random spread of the first lock attempts of one replica's shards. */
const SHARD_JITTER_MS = 100;
/** Sharded relays: pause before taking one more shard, per shard this replica already holds. */
const SHARD_STAGGER_MS = 100;
/**
 * Locked batches in flight at once: the next batch is claimed and published
 * while the previous one awaits its confirms and mark, so the broker is not
 * left idle between batches (each batch holds one database connection). A
 * shard's relay keeps one: a replica's shards already overlap each other, and
 * two per shard would hold twice the shards' count of the pool's connections.
 */
const LOCKED_BATCHES_IN_FLIGHT = 2;

/**
 * The second arrow of the data path: claims outbox records, sends them through
 * the transport, marks them published once confirmed, and retries failures —
 * first locally, then persistently with backoff — until they are dead-lettered.
 */
export class OutboxRelay {
  readonly #config: EventLogConfig;
  readonly #outbox: OutboxStore;
  readonly #transport: Transport;
  readonly #options: Readonly<HeraldOptions>;
  readonly #monitor: Monitor;
  readonly #logger: Logger;
  readonly #owner: string;
  readonly #lease: LeaseKeeper | undefined;
  readonly #loop: ClaimLoop;
  readonly #localRetries = new Map<string, LocalRetry>();
  /** Failures being written to the store; a claim must not hand them out again meanwhile. */
  readonly #persisting = new Map<string, Promise<void>>();
  /** Locked batches handed to the transport whose confirms, mark and commit are still running. */
  readonly #inFlight = new Set<Promise<void>>();
  /**
   * A locked batch committed since the running (or last) pass started: records
   * its open rows held back (same key) may be claimable, so the relay is not
   * idle until a pass has looked again.
   */
  #recheckAfterCommit = false;
  /**
   * False after a locked claim that found fewer records than its limit: it
   * took everything claimable then, so the relay waits for a wake-up (a
   * commit's, or its own batch's commit) instead of claiming again at once.
   */
  #lastClaimFull = true;
  #started = false;
  #unsubscribeWake: (() => void) | undefined;
  readonly #shard: { index: number; count: number } | undefined;
  readonly #shardLoad: (() => number) | undefined;
  readonly #brokerOutage: Outage;

  constructor(deps: {
    config: EventLogConfig;
    transport: Transport;
    options: Readonly<HeraldOptions>;
    monitor: Monitor;
    logger: Logger;
    owner: string;
    lease?: LeaseKeeper;
    /** Relay only this shard of the outbox (`bucket % count === index`). */
    shard?: { index: number; count: number };
    /** Shards this replica currently holds (for sharded rotation). */
    shardLoad?: () => number;
    /** The transport's outage, shared by the bus's relays (default: this relay's own). */
    brokerOutage?: Outage;
  }) {
    this.#config = deps.config;
    this.#outbox = deps.config.outbox!;
    this.#transport = deps.transport;
    this.#options = deps.options;
    this.#monitor = deps.monitor;
    this.#logger = deps.logger;
    this.#owner = deps.owner;
    this.#lease = deps.lease;
    this.#shard = deps.shard;
    this.#shardLoad = deps.shardLoad;
    this.#brokerOutage = deps.brokerOutage ?? brokerOutage(deps.logger, deps.monitor, deps.transport.name);
    const sharded = this.#shard !== undefined && this.#lease !== undefined;
    this.#loop = new ClaimLoop({
      pollingInterval: deps.options.pollingInterval,
      ...(deps.lease ? { lease: deps.lease } : {}),
      pass: () => this.#claimAndSend(),
      ...(sharded
        ? {
            beforeHold: (stop: AbortSignal) => this.#awaitFairTurn(stop),
            beforePass: (stop: AbortSignal) => this.#rotateShard(stop),
          }
        : {}),
      beforeRelease: async () => {
        await this.#settleInFlight();
        await this.#settlePersisting();
        await this.#drainLocalRetries().catch((error) => {
          this.#logger.warn('Could not release claimed records on stop; their lease will expire', { error });
        });
      },
      passAgain: () => this.#lastClaimFull,
      pendingWork: () => this.#localRetries.size > 0 || this.#inFlight.size > 0 || this.#recheckAfterCommit,
      onError: (error) => {
        this.#monitor.emit('error', { where: `outbox relay "${this.#config.name}"`, error });
        this.#logger.error('Outbox relay iteration failed; retrying', { outbox: this.#config.name, error });
      },
    });
  }

  /** True while this relay holds its lock (always true without a lock). */
  get holdsLease(): boolean {
    return this.#lease ? this.#lease.lease !== undefined && !this.#lease.signal.aborted : true;
  }

  get name(): string {
    return this.#shard ? `${this.#config.name}#${this.#shard.index}` : this.#config.name;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#unsubscribeWake = this.#outbox.onWake?.(() => this.wake());
    this.#loop.start();
  }

  /** New records were committed: look now. */
  wake(): void {
    this.#loop.wake();
  }

  /**
   * A delayed record becomes due at `at`: look then, unless an earlier
   * wake-up is scheduled (one timer per relay, never one per record).
   */
  wakeAt(at: Date): void {
    this.#loop.wakeAt(at);
  }

  /** True while the store's commit signal reaches this relay (it subscribed to `onWake`). */
  #storeWakesOnCommit(): boolean {
    return this.#unsubscribeWake !== undefined && this.#outbox.wakesOnCommit?.() === true;
  }

  /** Records were committed in this process: look now, unless the store's own commit signal wakes the relay. */
  committed(): void {
    if (this.#storeWakesOnCommit()) return;
    this.wake();
  }

  /**
   * Records were written in a transaction that commits later: look a few
   * times soon, unless the store will wake the relay when it commits (the
   * looks would only find nothing, at a statement or more each).
   */
  nudge(): void {
    if (this.#storeWakesOnCommit()) return;
    this.wake();
    for (const delay of NUDGE_DELAYS_MS) setTimeout(() => this.wake(), delay).unref?.();
  }

  /** True when the last claim found nothing and nothing is in flight or waiting for a local retry. */
  get idle(): boolean {
    return this.#loop.idle;
  }

  /** Passes so far that found work (see `ClaimLoop.workedPasses`). */
  get workedPasses(): number {
    return this.#loop.workedPasses;
  }

  /** Resolves after a claim that started after this call found nothing to do. */
  whenIdle(): Promise<void> {
    return this.#loop.whenIdle();
  }

  /** Stops claiming, waits for the batch in flight, and hands local retries back to the store. */
  async stop(): Promise<void> {
    this.#unsubscribeWake?.();
    this.#unsubscribeWake = undefined;
    await this.#loop.stop();
  }

  /**
   * Claims the next batch and sends it; returns how many records were claimed.
   *
   * - A store that can hold row locks while the broker confirms
   *   (`claimLocked`) claims, sends and marks in one transaction: one rewrite
   *   per row, and any other relay skips the locked rows — also one that still
   *   believes it holds a lock it lost (a pause past the TTL, a Redis restart).
   * - Otherwise, under a lock, the claim is exclusive (no lease written, the
   *   mark is the one rewrite) and fenced: once another relay holds the lock
   *   and claimed, the store refuses this one. Two holders can still overlap
   *   for one batch (both claimed before either learned of the other), which
   *   the consumer's inbox absorbs.
   * - Without a lock the claim leases each row until `minimumRetryInterval`:
   *   the lease is what keeps two relays off one record.
   *
   * Under a lock, claims and marks carry its fencing token: once a newer
   * holder has claimed, the store refuses this relay's calls
   * (`StaleFencingTokenError`), and a batch is never handed to the broker
   * after the lease's own expiry (a relay resumed after a pause).
   */
  async #claimAndSend(): Promise<number> {
    this.#recheckAfterCommit = false;
    // During a broker outage one relay at a time probes, after a growing pause.
    if (!(await this.#brokerOutage.admit(this.#loop.stopSignal))) return 0;
    let claimed = 0;
    try {
      claimed = await this.#claimAndSendFenced();
      return claimed;
    } catch (error) {
      if (!isLockLost(error)) throw error;
      await this.#abandon(error);
      return 0;
    } finally {
      // A pass that sent nothing said nothing about the broker (a sent batch says it in #brokerIsOut).
      if (claimed === 0) this.#brokerOutage.inconclusive();
    }
  }

  async #claimAndSendFenced(): Promise<number> {
    // Before the request is built: its time and fence are those of the claim, not of the wait.
    if (this.#outbox.claimLocked && !(await this.#awaitBatchSlot())) return 0;
    const fence = this.#fence();
    const request: ClaimRequest = {
      limit: this.#options.batchSize,
      leaseMs: this.#options.minimumRetryInterval,
      owner: this.#owner,
      now: new Date(),
      ...(this.#shard ? { shard: this.#shard } : {}),
      ...(fence ? { fence } : {}),
    };
    if (this.#outbox.claimLocked) return this.#claimLockedBatch(request, fence);
    // Under a fenced lock the claim writes no lease: the mark is the row's one rewrite, and the
    // store refuses this relay once a newer holder claimed. Records it holds for a local retry
    // come back unleased, so they are left out here.
    const exclusive = fence !== undefined;
    const claimed = await this.#outbox.claim(exclusive ? { ...request, exclusive } : request);
    const records = exclusive ? this.#withoutHeld(claimed) : claimed;
    if (records.length === 0) return 0;
    this.#assertLeaseValid();
    const sent = await this.#sendOnce(records);
    if (await this.#brokerIsOut(sent)) {
      // The claim's lease ends without an attempt counted: the records wait out the outage.
      await this.#outbox.release(
        records.map((record) => record.message.id),
        fence,
      );
      return records.length;
    }
    for (const { record, error } of sent.failed) this.#failedOnce(record, error, 1, fence);
    if (sent.published.length > 0) await this.#markPublished(sent.published, fence);
    return records.length;
  }

  /**
   * True when a batch failed because the broker is out, not because of its
   * messages: nothing went through, every failure is transient, and the
   * transport's own health check says it is disconnected. Such a batch counts
   * no attempt against its records (a long outage would otherwise
   * dead-letter healthy messages); the relay waits the outage out instead.
   * Without a health check the transport cannot tell, and failures count.
   */
  async #brokerIsOut(sent: SentBatch): Promise<boolean> {
    if (sent.published.length > 0) {
      this.#brokerOutage.succeeded();
      return false;
    }
    if (
      sent.failed.length === 0 ||
      !this.#transport.health ||
      !sent.failed.every(({ error }) => isTransient(error))
    ) {
      this.#brokerOutage.inconclusive();
      return false;
    }
    const health = await this.#transport.health().catch(() => ({ connected: false }));
    if (health.connected) {
      this.#brokerOutage.succeeded();
      return false;
    }
    this.#brokerOutage.failed(sent.failed[0]!.error);
    return true;
  }

  /**
   * Claims a locked batch and resolves with its size once the batch is handed
   * to the transport; its confirms, mark and commit go on in the background
   * (see {@link LOCKED_BATCHES_IN_FLIGHT}), so the next pass claims while the
   * broker confirms this one. The batches stay apart: the next claim skips
   * this one's locked rows, and a record whose key has an earlier open record
   * in this batch is not claimable until that one is marked, so per-key order
   * holds. A failure before the hand-off rejects (the loop backs off); one
   * after it (mark, commit, a refused token) is reported here.
   */
  async #claimLockedBatch(request: ClaimRequest, fence: Fence | undefined): Promise<number> {
    let handedOff = false;
    let resolveClaimed!: (count: number) => void;
    let rejectClaimed!: (error: unknown) => void;
    const claimed = new Promise<number>((resolve, reject) => {
      resolveClaimed = resolve;
      rejectClaimed = reject;
    });
    let sent: SentBatch | undefined;
    this.#lastClaimFull = true;
    const batch = this.#outbox.claimLocked!(request, async (claimedRecords) => {
      this.#lastClaimFull = claimedRecords.length >= request.limit;
      // The store leases what we hold for a retry; should it hand one back anyway, it is not sent twice.
      const records = this.#withoutHeld(claimedRecords);
      this.#assertLeaseValid();
      handedOff = true;
      resolveClaimed(records.length);
      sent = await this.#sendOnce(records);
      if (await this.#brokerIsOut(sent)) {
        // Neither published nor held: the rows stay as they were, claimable, no attempt counted.
        sent = undefined;
        return { published: [], held: [] };
      }
      return {
        published: sent.published.map((record) => record.message.id),
        held: sent.failed.map(({ record }) => record.message.id),
      };
    });
    const settled: Promise<void> = batch
      .then(
        // Committed: only now are the marks real and the failures ours to retry.
        () => {
          if (sent) this.#settle(sent, fence);
        },
        (error: unknown) => (handedOff ? this.#batchFailed(error) : rejectClaimed(error)),
      )
      // Never rejects: it is awaited by later passes and on stop.
      .catch((error: unknown) => this.#reportError(error))
      .finally(() => {
        this.#inFlight.delete(settled);
        resolveClaimed(0);
        // Records of this batch's keys (held back by its open rows) are claimable now: look again.
        if (handedOff) {
          this.#recheckAfterCommit = true;
          this.wake();
        }
        this.#loop.settled();
      });
    this.#inFlight.add(settled);
    return claimed;
  }

  /**
   * Waits until fewer locked batches than allowed are in flight; false when
   * the relay stopped meanwhile (it claims nothing more; stop waits for them).
   */
  async #awaitBatchSlot(): Promise<boolean> {
    const depth = this.#shard ? 1 : LOCKED_BATCHES_IN_FLIGHT;
    while (this.#inFlight.size >= depth) await Promise.race(this.#inFlight);
    return !this.#loop.stopSignal.aborted;
  }

  /** A locked batch failed after its hand-off: the transaction rolled back, its rows are claimable again. */
  async #batchFailed(error: unknown): Promise<void> {
    if (isLockLost(error)) return this.#abandon(error);
    this.#reportError(error);
  }

  #reportError(error: unknown): void {
    this.#monitor.emit('error', { where: `outbox relay "${this.#config.name}"`, error });
    this.#logger.error('Outbox relay batch failed after sending; its records will be sent again', {
      outbox: this.#config.name,
      error,
    });
  }

  /** Waits for every locked batch in flight to commit or roll back. */
  async #settleInFlight(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  /** `records` without those this relay holds for a local retry or whose failure it is writing. */
  #withoutHeld(records: readonly OutboxRecord[]): readonly OutboxRecord[] {
    if (this.#localRetries.size === 0 && this.#persisting.size === 0) return records;
    return records.filter(
      (record) => !this.#localRetries.has(record.message.id) && !this.#persisting.has(record.message.id),
    );
  }

  /** True while the lease a fence came from is still this relay's current one (always without a lock). */
  #stillHolds(fence: Fence | undefined): boolean {
    if (!this.#lease) return true;
    const current = this.#fence();
    return fence !== undefined && current?.token === fence.token && current.lock === fence.lock;
  }

  /** The fence of the lock this relay works under (none without a lock). */
  #fence(): Fence | undefined {
    const lease = this.#lease?.lease;
    return lease ? { lock: lease.key, token: lease.fencingToken } : undefined;
  }

  /**
   * Refuses to hand a claimed batch to the broker once the lease has run out
   * by this process's clock: a relay paused past its TTL (GC, SIGSTOP, a VM
   * freeze) wakes up here before its renewal timer could notice the loss.
   */
  #assertLeaseValid(): void {
    if (!this.#lease) return;
    const lease = this.#lease.lease;
    if (!lease || this.#lease.signal.aborted || lease.expiresAt.getTime() <= Date.now()) {
      throw new LeaseExpiredError(this.name);
    }
  }

  /**
   * This relay lost its lock (a store refused its fencing token, or its lease
   * ran out): drop what it holds without writing (a newer holder owns the
   * records now) and let go of the lock; the loop tries for it again.
   */
  async #abandon(error: unknown): Promise<void> {
    // A late refusal of a token this relay no longer works under (it holds a newer lease now).
    const current = this.#fence();
    if (error instanceof StaleFencingTokenError && current && current.token > error.token) return;
    this.#logger.warn('Outbox relay lost its lock; the batch in hand is dropped', {
      outbox: this.name,
      error,
    });
    for (const retry of this.#localRetries.values()) clearTimeout(retry.timer);
    this.#localRetries.clear();
    await this.#lease?.release();
  }

  /** After a locked batch committed: reports what was sent and starts the retries of what failed. */
  #settle(sent: SentBatch, fence: Fence | undefined): void {
    this.#reportSent(sent.published);
    for (const { record, error } of sent.failed) this.#failedOnce(record, error, 1, fence);
  }

  /**
   * Before trying for a shard's lock, waits longer the more shards this
   * replica holds: a replica that starts first would otherwise take every
   * shard before the others have connected, and keep them for `shardTenure`.
   */
  async #awaitFairTurn(stop: AbortSignal): Promise<void> {
    let waited = Math.random() * SHARD_JITTER_MS;
    await sleep(waited, stop);
    for (;;) {
      const due = (this.#shardLoad?.() ?? 0) * SHARD_STAGGER_MS;
      if (waited >= due || stop.aborted) return;
      await sleep(due - waited, stop);
      waited = due;
    }
  }

  /**
   * Sharded relays hand their shard back after `shardTenure` (at a batch
   * boundary, so per-key order holds) and wait longer the more shards this
   * replica holds: shards drift towards replicas that hold fewer, which is how
   * load spreads when a replica joins. A replica that leaves simply lets its
   * leases expire. Returns true when the shard was handed back.
   */
  async #rotateShard(stop: AbortSignal): Promise<boolean> {
    const lease = this.#lease!.lease;
    if (!lease || Date.now() - this.#lease!.heldSince < this.#options.shardTenure) return false;
    // At a batch boundary: the next holder must not claim beside a batch still confirming here.
    await this.#settleInFlight();
    await this.#drainLocalRetries();
    await this.#settlePersisting();
    await this.#lease!.release();
    const load = this.#shardLoad?.() ?? 0;
    await sleep(50 + load * 100 + Math.random() * 100, stop);
    return true;
  }

  /** Hands records waiting for a local retry back to the store (they stay due). */
  async #drainLocalRetries(): Promise<void> {
    const pending = [...this.#localRetries.values()];
    this.#localRetries.clear();
    for (const retry of pending) clearTimeout(retry.timer);
    // Only under the lease still held: a record claimed under a lost one is left to its lease's end.
    const ours = pending.filter((retry) => this.#stillHolds(retry.fence));
    if (ours.length > 0)
      await this.#outbox.release(
        ours.map((retry) => retry.record.message.id),
        ours[0]!.fence,
      );
  }

  /** Waits for failures being written, so the next holder of the lock sees them. */
  async #settlePersisting(): Promise<void> {
    await Promise.all(this.#persisting.values());
  }

  /** Publishes a batch once and sorts the records by outcome. */
  async #sendOnce(records: readonly OutboxRecord[]): Promise<SentBatch> {
    if (records.length === 0) return { published: [], failed: [] };
    const outcomes = await this.#publish(records);
    const sent: SentBatch = { published: [], failed: [] };
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      const outcome = outcomes[i]!;
      if (outcome.ok) sent.published.push(record);
      else sent.failed.push({ record, error: outcome.error });
    }
    return sent;
  }

  async #publish(records: readonly OutboxRecord[]): Promise<PublishOutcome[]> {
    try {
      const messages = records.map((record) => record.message);
      const outcomes = await inSendSpan(this.#transport.name, messages, () =>
        this.#transport.publish(messages),
      );
      return records.map((record, index) =>
        outcomes[index]?.id === record.message.id
          ? outcomes[index]!
          : (outcomes.find((o) => o.id === record.message.id) ?? {
              id: record.message.id,
              ok: false,
              error: new Error('The transport returned no outcome for this message'),
            }),
      );
    } catch (error) {
      return records.map((record) => ({ id: record.message.id, ok: false, error }));
    }
  }

  async #markPublished(records: readonly OutboxRecord[], fence: Fence | undefined): Promise<void> {
    try {
      await this.#outbox.markPublished(
        records.map((record) => record.message.id),
        new Date(),
        fence,
      );
    } catch (error) {
      if (isLockLost(error)) return this.#abandon(error);
      // Sent but not marked: the lease expires and the records are sent again; the inbox absorbs the copies.
      this.#monitor.emit('error', { where: `outbox "${this.#config.name}" markPublished`, error });
      this.#logger.error('Could not mark records published; they will be sent again after the lease', {
        error,
      });
      return;
    }
    this.#reportSent(records);
  }

  /** Metrics and `sent` events for records marked published. */
  #reportSent(records: readonly OutboxRecord[]): void {
    if (records.length === 0) return;
    heraldMetrics().sent.add(records.length, { 'messaging.system': this.#transport.name });
    if (this.#monitor.hasListeners('sent')) {
      for (const record of records) {
        this.#monitor.emit('sent', {
          source: 'outbox',
          eventName: record.message.name,
          messageId: record.message.id,
          message: record.message,
        });
      }
    }
  }

  /** A send failed `localAttempts` times in this claim: retry locally, or persist the failure. */
  #failedOnce(record: OutboxRecord, error: unknown, localAttempts: number, fence: Fence | undefined): void {
    const canRetryLocally = localAttempts <= this.#options.localRetryTimes && !this.#loop.stopSignal.aborted;
    this.#monitor.emit('failed', {
      stage: 'publish',
      eventName: record.message.name,
      messageId: record.message.id,
      error,
      attempt: record.attempts * (this.#options.localRetryTimes + 1) + localAttempts,
      willRetry: canRetryLocally || record.attempts < this.#options.maxRetryTimes,
    });
    if (!canRetryLocally) {
      const id = record.message.id;
      const persisted = this.#persistFailure(record, error, fence).finally(() => this.#persisting.delete(id));
      this.#persisting.set(id, persisted);
      return;
    }
    const timer = setTimeout(
      () => void this.#retryLocally(record.message.id),
      this.#options.localFailedRetryInterval,
    );
    timer.unref?.();
    this.#localRetries.set(record.message.id, { record, fence, localAttempts, timer, lastError: error });
  }

  async #retryLocally(id: string): Promise<void> {
    const retry = this.#localRetries.get(id);
    if (!retry || this.#loop.stopSignal.aborted) return;
    if (!this.#stillHolds(retry.fence)) {
      // The lock changed hands since the claim: the record is the next holder's once its lease ends.
      this.#localRetries.delete(id);
      if (this.#localRetries.size === 0) this.#loop.settled();
      return;
    }
    const [outcome] = await this.#publish([retry.record]);
    if (!this.#localRetries.has(id)) return; // stopped meanwhile and released
    this.#localRetries.delete(id);
    if (outcome?.ok) await this.#markPublished([retry.record], retry.fence);
    else this.#failedOnce(retry.record, outcome?.error, retry.localAttempts + 1, retry.fence);
    if (this.#localRetries.size === 0) this.#loop.settled();
  }

  async #persistFailure(record: OutboxRecord, error: unknown, fence: Fence | undefined): Promise<void> {
    const now = new Date();
    const { dead, nextAttemptAt } = decideRetry(record.attempts, this.#options, now);
    try {
      await this.#outbox.markFailed(
        [{ id: record.message.id, error: describeError(error), nextAttemptAt }],
        now,
        fence,
      );
    } catch (storeError) {
      if (isLockLost(storeError)) return this.#abandon(storeError);
      this.#monitor.emit('error', { where: `outbox "${this.#config.name}" markFailed`, error: storeError });
      return; // Claimed again after the lease.
    }
    if (dead) {
      this.#monitor.emit('dead-lettered', {
        stage: 'publish',
        eventName: record.message.name,
        messageId: record.message.id,
        reason: describeError(error),
      });
    } else if (nextAttemptAt) {
      this.#loop.wakeAt(nextAttemptAt);
    }
    // The failed record no longer blocks its key's successors.
    this.wake();
  }
}

/** The relay's lease ran out before a claimed batch was sent (see `#assertLeaseValid`). */
class LeaseExpiredError extends BusStateError {
  constructor(relay: string) {
    super(`Outbox relay "${relay}" lost its lock before sending the claimed batch`);
  }
}

/** A failure that may pass by itself (a transport's retriable error, or an error no adapter classified). */
function isTransient(error: unknown): boolean {
  if (error instanceof TransportError) return error.retriable;
  return !(error instanceof HeraldError);
}

/** The wording of a relay's broker outage (see {@link Outage}). */
export function brokerOutage(logger: Logger, monitor: Monitor, transport: string): Outage {
  return new Outage(logger, monitor, {
    where: `transport ${transport} (outbox relay)`,
    context: { transport },
    started:
      'Broker unavailable; outbox records stay pending (no attempt counted) and the relay probes with a growing pause',
    relapsed: 'Broker failed again right after it came back; the relay waits',
    ended: 'Broker available again after {s} s; the outbox relay continues',
    relapseEnded: 'Broker available again after a {s} s relapse',
  });
}

/** True for the errors that mean "this relay no longer holds its lock". */
function isLockLost(error: unknown): boolean {
  return error instanceof StaleFencingTokenError || error instanceof LeaseExpiredError;
}
