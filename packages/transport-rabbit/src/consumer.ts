import {
  type DeliveryHandler,
  type Disposition,
  describeError,
  type IncomingMessage,
  KeyedQueue,
  sleep,
  TransportError,
  WireHeaders,
} from '@herald/core';
import type { Channel, ConsumeMessage } from 'amqplib';
import { AckBatcher } from './ack-batcher.js';
import type { ConnectionManager, Session } from './connection.js';
import { settlementHeaders } from './dead-letters.js';
import { copyForRequeue, deliveryAttemptOf, fromAmqp } from './native-mapping.js';
import type { ResolvedOptions } from './options.js';
import type { ConfirmPublisher } from './publisher.js';
import type { GroupQueues, Topology } from './topology.js';

interface Deps {
  readonly options: ResolvedOptions;
  readonly connection: ConnectionManager;
  readonly topology: Topology;
  readonly publisher: ConfirmPublisher;
  readonly group: string;
  readonly eventNames: readonly string[];
  readonly handler: DeliveryHandler;
}

/** Counters for operators and tests. */
export interface ConsumerMetrics {
  /** Deliveries received from the group queue (redeliveries and retries included). */
  delivered: number;
  /** Deliveries acknowledged after core settled them as done. */
  acked: number;
  /**
   * Retries carried out: copies sent to a retry queue, plus retries held in place on an ordered
   * (single-active-consumer) queue for a keyed message.
   */
  retried: number;
  /** Deliveries copied to the group's dead-letter queue (with the reason in headers). */
  deadLettered: number;
  /** Dispositions that could not be carried out (the message was handed back to the queue instead). */
  requeued: number;
  /** `basic.ack` frames sent; below `acked` when acks went out in bulk (`multiple`). */
  ackFrames: number;
}

/** One consumer channel; deliveries remember which one they came from (acks are per channel). */
interface Lane {
  readonly session: Session;
  readonly channel: Channel;
  consumerTag: string | undefined;
  /** Closed or replaced: its unacked deliveries are back in the queue already. */
  dead: boolean;
  /** Aborted when the lane dies or the consumer closes: wakes held retries. */
  readonly abort: AbortController;
  /** Acks of this channel's deliveries, sent in bulk. */
  readonly acks: AckBatcher;
}

/**
 * Consumes one group queue with manual acks and a prefetch window, hands
 * the deliveries to core concurrently (one at a time per ordering key, up to
 * `prefetch` at once) and carries out each disposition: ack (sent in bulk,
 * see {@link AckBatcher}); retry → a copy
 * into the retry tier queue (TTL, then back into the group queue) with the
 * attempt count in a header; dead-letter → a copy into the group's DLQ with
 * the reason. The copy is confirmed before the original is acked, so a crash
 * in between duplicates rather than loses. Survives reconnects and channel
 * drops by reopening on the next session.
 *
 * With `singleActiveConsumer`, a `retry` of a message with an ordering key is
 * instead held here, unacknowledged, and handed to core again after the delay:
 * the later messages of its key wait behind it, and if this consumer goes away
 * the broker returns them all to the queue in their original order.
 */
export class GroupConsumer {
  readonly #deps: Deps;
  readonly queues: GroupQueues;
  readonly metrics: ConsumerMetrics = {
    delivered: 0,
    acked: 0,
    retried: 0,
    deadLettered: 0,
    requeued: 0,
    ackFrames: 0,
  };
  // Deliveries with the same ordering key are handed to core one at a time, in arrival order.
  readonly #order: KeyedQueue;
  #lane: Lane | undefined;
  #opening: Promise<void> | undefined;
  #reopenTimer: NodeJS.Timeout | undefined;
  #reopenAttempt = 0;
  #closing = false;
  /** Set once the broker stopped delivering to us: deliveries not yet handled go back to the queue. */
  #handingBack = false;
  readonly #closed = new AbortController();
  #unregister: (() => void) | undefined;

  constructor(deps: Deps) {
    this.#deps = deps;
    this.queues = deps.topology.queuesOf(deps.group);
    this.#order = new KeyedQueue(deps.options.prefetch);
  }

  get group(): string {
    return this.#deps.group;
  }

  /** Whether a consumer channel is open right now. */
  get consuming(): boolean {
    return this.#lane !== undefined && !this.#lane.dead;
  }

  /** Resolves when no delivery is being handled or held for a retry. */
  whenIdle(): Promise<void> {
    return this.#order.onIdle();
  }

  /** Declares the group's topology and starts consuming; errors (e.g. an incompatible existing queue) reject. */
  async start(): Promise<void> {
    const session = await this.#deps.connection.whenOpen(this.#deps.options.publishTimeoutMs);
    try {
      await this.#open(session);
    } catch (error) {
      await this.close();
      throw error;
    }
    this.#unregister = this.#deps.connection.onSession((next) => this.#openOrRetry(next));
  }

  /**
   * Stops new deliveries, lets deliveries being handled finish, hands
   * deliveries not yet started (and held retries) back to the queue, and
   * closes the channel.
   */
  async close(): Promise<void> {
    this.#closing = true;
    this.#unregister?.();
    clearTimeout(this.#reopenTimer);
    await this.#opening?.catch(() => undefined);
    const lane = this.#lane;
    if (lane && !lane.dead && lane.consumerTag) {
      // Hand nothing back before cancel-ok: a requeued message would come straight back to us.
      await lane.channel.cancel(lane.consumerTag).catch(() => undefined);
    }
    this.#handingBack = true;
    this.#closed.abort();
    await this.#order.onIdle();
    this.#lane = undefined;
    if (lane) {
      // Everything is decided now: send the acks still waiting for their batch before the channel goes.
      if (!lane.dead) lane.acks.flush(true);
      this.#kill(lane);
      await lane.channel.close().catch(() => undefined);
    }
  }

  async #openOrRetry(session: Session): Promise<void> {
    if (this.#closing) return;
    try {
      await this.#open(session);
      this.#reopenAttempt = 0;
    } catch (error) {
      this.#deps.options.logger.warn('Could not resume a RabbitMQ consumer; retrying', {
        group: this.#deps.group,
        error,
      });
      this.#scheduleReopen();
    }
  }

  /** Reopens on the live session after a backoff (a consumer channel dropped, or reopening failed). */
  #scheduleReopen(): void {
    if (this.#closing || this.#reopenTimer) return;
    const { initialDelayMs, factor, maxDelayMs } = this.#deps.options.reconnect;
    const delay = Math.min(initialDelayMs * factor ** this.#reopenAttempt++, maxDelayMs);
    this.#reopenTimer = setTimeout(() => {
      this.#reopenTimer = undefined;
      const session = this.#deps.connection.current;
      // No session: the connection's own hook reopens us when it is back.
      if (session && !this.consuming) void this.#openOrRetry(session);
    }, delay);
    this.#reopenTimer.unref();
  }

  #open(session: Session): Promise<void> {
    const opening = (this.#opening ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.#openNow(session));
    this.#opening = opening;
    return opening.finally(() => {
      if (this.#opening === opening) this.#opening = undefined;
    });
  }

  async #openNow(session: Session): Promise<void> {
    if (this.#closing) return;
    // Already consuming on this connection (a reopen timer and the session hook both asked).
    if (this.#lane && !this.#lane.dead && this.#lane.session === session) return;
    const old = this.#lane;
    this.#lane = undefined;
    if (old) this.#kill(old);
    await old?.channel.close().catch(() => undefined);
    // Declarations on their own channel: a precondition failure closes only that channel.
    const setup = await session.model.createChannel();
    setup.on('error', () => undefined);
    try {
      await this.#deps.topology.declareGroup(setup, this.#deps.group, this.#deps.eventNames);
    } catch (error) {
      throw new TransportError(
        `Could not declare the RabbitMQ queues of group "${this.#deps.group}": ${describeError(error)}`,
        // Settings that clash with an existing queue will clash again; a dropped connection will not.
        { cause: error, retriable: this.#deps.connection.current !== session },
      );
    } finally {
      await setup.close().catch(() => undefined);
    }
    const channel = await session.model.createChannel();
    const lane: Lane = {
      session,
      channel,
      consumerTag: undefined,
      dead: false,
      abort: new AbortController(),
      acks: new AckBatcher(channel, () => this.metrics.ackFrames++),
    };
    channel.on('error', (error: Error) =>
      this.#deps.options.logger.warn('RabbitMQ consumer channel error', { group: this.#deps.group, error }),
    );
    channel.once('close', () => {
      this.#kill(lane);
      if (this.#lane !== lane) return;
      this.#lane = undefined;
      // Unacked deliveries are back in the queue; resume on this connection if it is still up.
      if (!this.#closing && this.#deps.connection.current === session) this.#scheduleReopen();
    });
    await channel.prefetch(this.#deps.options.prefetch);
    this.#lane = lane;
    const { consumerTag } = await channel.consume(
      this.queues.queue,
      (message) => this.#onMessage(lane, message),
      { noAck: false },
    );
    lane.consumerTag = consumerTag;
  }

  #kill(lane: Lane): void {
    lane.dead = true;
    lane.abort.abort();
    lane.acks.discard();
  }

  #onMessage(lane: Lane, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled us (queue deleted or failed over): declare again and resume.
      if (this.#lane === lane) {
        this.#lane = undefined;
        this.#kill(lane);
        lane.channel.close().catch(() => undefined);
        this.#scheduleReopen();
      }
      return;
    }
    this.metrics.delivered++;
    lane.acks.delivered(message);
    let incoming: IncomingMessage;
    try {
      incoming = {
        headers: fromAmqp(message),
        body: new Uint8Array(message.content),
        deliveryAttempt: deliveryAttemptOf(message),
        // A group queue is bound to the group's own event names only: any other name is misrouted.
        channelShared: false,
      };
    } catch (error) {
      // Should not happen (mapping only stringifies), but never let a bad message stop the consumer.
      void this.#settle(
        lane,
        message,
        { kind: 'dead-letter', reason: `Unreadable AMQP message: ${describeError(error)}` },
        1,
      );
      return;
    }
    const key = incoming.headers[WireHeaders.orderingKey];
    void this.#order
      .run(key, () => this.#handle(lane, message, incoming, key))
      .catch((error) => {
        this.#deps.options.logger.error('Unexpected error while settling a RabbitMQ delivery', {
          group: this.#deps.group,
          error,
        });
      });
  }

  async #handle(
    lane: Lane,
    message: ConsumeMessage,
    first: IncomingMessage,
    key: string | undefined,
  ): Promise<void> {
    let incoming = first;
    for (;;) {
      // The channel died: the broker has requeued this delivery already; handling it here would race the redelivery.
      if (lane.dead) return;
      if (this.#handingBack) return this.#requeue(lane, message);
      let disposition: Disposition;
      try {
        disposition = await this.#deps.handler(incoming);
      } catch (error) {
        // Core's handler never rejects; if it does anyway, the contract says: retry.
        disposition = {
          kind: 'retry',
          delayMs: this.#deps.options.retryDelays[0]!,
          reason: describeError(error),
        };
      }
      if (disposition.kind !== 'retry' || key === undefined || !this.#deps.options.singleActiveConsumer) {
        return this.#settle(lane, message, disposition, incoming.deliveryAttempt);
      }
      // Keyed retry on an ordered queue: hold it (unacked) so later messages of the key stay behind it.
      this.metrics.retried++;
      await sleep(disposition.delayMs, AbortSignal.any([lane.abort.signal, this.#closed.signal]));
      incoming = { ...incoming, deliveryAttempt: incoming.deliveryAttempt + 1 };
    }
  }

  #requeue(lane: Lane, message: ConsumeMessage): void {
    this.metrics.requeued++;
    try {
      lane.channel.nack(message, false, true);
    } catch {
      // Channel gone: the broker requeues unacked messages by itself.
    }
    lane.acks.settledElsewhere(message);
  }

  async #settle(
    lane: Lane,
    message: ConsumeMessage,
    disposition: Disposition,
    attempt: number,
  ): Promise<void> {
    // The broker already took the delivery back: a copy now would only duplicate it.
    if (lane.dead) return;
    try {
      if (disposition.kind === 'ack') {
        this.#ack(lane, message);
        this.metrics.acked++;
        return;
      }
      const target =
        disposition.kind === 'retry'
          ? this.#deps.topology.retryQueueFor(this.#deps.group, disposition.delayMs).queue
          : this.queues.deadLetter;
      const extra = settlementHeaders(disposition.kind, this.#deps.group, attempt, disposition.reason);
      // The default exchange routes straight to the named queue.
      const [confirmation] = await this.#deps.publisher.publish([
        {
          exchange: '',
          routingKey: target,
          content: message.content,
          options: copyForRequeue(message, extra),
        },
      ]);
      if (!confirmation?.ok) throw confirmation?.error ?? new Error('no confirmation');
      this.#ack(lane, message);
      if (disposition.kind === 'retry') this.metrics.retried++;
      else this.metrics.deadLettered++;
    } catch (error) {
      // The copy did not make it: hand the original back rather than lose it.
      this.#deps.options.logger.warn(
        'Could not move a message to its retry/dead-letter queue; requeueing it',
        {
          group: this.#deps.group,
          disposition: disposition.kind,
          error,
        },
      );
      // A short pause, so a persistent failure does not spin through the queue.
      await sleep(
        Math.min(1_000, this.#deps.options.retryDelays[0]!),
        AbortSignal.any([lane.abort.signal, this.#closed.signal]),
      );
      this.#requeue(lane, message);
    }
  }

  #ack(lane: Lane, message: ConsumeMessage): void {
    if (lane.dead) return; // the broker redelivers it; the inbox absorbs the duplicate
    lane.acks.ack(message);
  }
}
