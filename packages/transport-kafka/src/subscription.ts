import {
  type DeliveryHandler,
  type Disposition,
  describeError,
  type Logger,
  type Subscription,
  type SubscriptionHandle,
  TransportError,
  WireHeaders,
} from '@herald/core';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { DeadLetterSource } from './dead-letters.js';
import { bodyOf, fromKafkaHeaders } from './headers.js';
import type { ResolvedKafkaOptions } from './options.js';
import type { TopicManager } from './topics.js';

/** Redelivery delay when core's handler rejects (it should not) or the dead-letter topic cannot be written. */
const TROUBLE_RETRY_MS = 1_000;

/** What a subscription needs from its transport. */
export interface SubscriptionDeps {
  readonly kafka: Kafka;
  readonly options: ResolvedKafkaOptions;
  readonly topics: TopicManager;
  readonly logger: Logger;
  /** Writes a rejected record to the group's dead-letter topic; resolves once the broker confirmed it. */
  readonly deadLetter: (source: DeadLetterSource, reason: string) => Promise<void>;
}

/**
 * One consumer group member for one {@link Subscription}: a kafkajs consumer
 * on the topics of the subscription's event names.
 *
 * Each partition is handled one record at a time, in offset order, so records
 * with the same key (same partition) reach core in publish order. A record's
 * offset is marked handled only after core's disposition has been carried out
 * (ack, or dead-letter record confirmed); handled offsets are committed every
 * `autoCommitThreshold` records / `autoCommitInterval`, at the end of each
 * fetched batch, before a rebalance hands the partitions away, and on close.
 * A `retry` pauses the partition and leaves the offset where it is, so the
 * same record comes again after the delay and nothing behind it overtakes it.
 */
export class KafkaSubscription implements SubscriptionHandle {
  readonly #subscription: Subscription;
  readonly #handler: DeliveryHandler;
  readonly #deps: SubscriptionDeps;
  readonly #names: ReadonlySet<string>;
  readonly #consumer: Consumer;
  readonly #resumeTimers = new Set<NodeJS.Timeout>();
  /** Per partition: the record at its head and how often it was delivered (for `deliveryAttempt`). */
  readonly #heads = new Map<string, { offset: string; attempts: number }>();
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(subscription: Subscription, handler: DeliveryHandler, deps: SubscriptionDeps) {
    this.#subscription = subscription;
    this.#handler = handler;
    this.#deps = deps;
    this.#names = new Set(subscription.eventNames);
    const { consumer } = deps.options;
    this.#consumer = deps.kafka.consumer({
      groupId: subscription.group,
      sessionTimeout: consumer.sessionTimeout,
      rebalanceTimeout: consumer.rebalanceTimeout,
      heartbeatInterval: consumer.heartbeatInterval,
      maxWaitTimeInMs: consumer.maxWaitTimeInMs,
      metadataMaxAge: consumer.metadataMaxAge,
      maxBytesPerPartition: consumer.maxBytesPerPartition,
      allowAutoTopicCreation: false,
    });
  }

  /** Creates the topics (or checks them), joins the group and resolves once partitions are assigned. */
  static async open(
    subscription: Subscription,
    handler: DeliveryHandler,
    deps: SubscriptionDeps,
  ): Promise<KafkaSubscription> {
    const member = new KafkaSubscription(subscription, handler, deps);
    try {
      await member.#start();
    } catch (error) {
      await member.close().catch(() => undefined);
      throw error;
    }
    return member;
  }

  /** The event topics this subscription reads. */
  get topics(): string[] {
    return [...new Set(this.#subscription.eventNames.map((name) => this.#deps.options.topicFor(name)))];
  }

  async #start(): Promise<void> {
    const { options, topics, logger } = this.#deps;
    const { group } = this.#subscription;
    const eventTopics = this.topics;
    await topics.ensure(eventTopics, 'event');
    await topics.ensure([options.deadLetterTopicFor(group)], 'dead-letter');

    // kafkajs reports a failed join through its CRASH event, not through run(), so watch both.
    let joined = false;
    let fatal: unknown;
    let wake: () => void = () => undefined;
    const changed = new Promise<void>((resolve) => {
      wake = resolve;
    });
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, () => {
      joined = true;
      wake();
    });
    this.#consumer.on(this.#consumer.events.CRASH, ({ payload }) => {
      if (this.#closed) return;
      if (payload.restart) {
        logger.warn('Kafka consumer crashed and restarts', { group, error: payload.error });
        return;
      }
      logger.error('Kafka consumer stopped and does not restart', { group, error: payload.error });
      fatal = payload.error;
      wake();
    });

    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: eventTopics, fromBeginning: options.consumer.fromBeginning });
    await this.#consumer.run({
      autoCommit: true,
      autoCommitInterval: options.consumer.autoCommitInterval,
      autoCommitThreshold: options.consumer.autoCommitThreshold,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.consumer.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.#eachBatch(payload),
    });

    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.consumer.joinTimeout);
      timer.unref?.();
    });
    if (!joined && fatal === undefined) await Promise.race([changed, timedOut]);
    clearTimeout(timer);
    if (fatal !== undefined) {
      throw new TransportError(`Kafka consumer group "${group}" could not start: ${describeError(fatal)}`, {
        cause: fatal,
      });
    }
    if (!joined) {
      throw new TransportError(
        `Kafka consumer group "${group}" did not join within ${options.consumer.joinTimeout} ms (topics ${eventTopics.join(', ')})`,
      );
    }
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, pause, isRunning, isStale, commitOffsetsIfNecessary } = payload;
    const { topic, partition } = batch;
    for (const message of batch.messages) {
      if (this.#closed || !isRunning() || isStale()) break;
      const outcome = await this.#handle(topic, partition, message, heartbeat);
      if (outcome.kind === 'redeliver') {
        // Not resolved: the next fetch of this partition starts again at this record.
        this.#pauseFor(pause, outcome.delayMs);
        break;
      }
      resolveOffset(message.offset);
      await commitOffsetsIfNecessary();
      await heartbeat();
    }
  }

  /** Delivers one record and carries out core's disposition. */
  async #handle(
    topic: string,
    partition: number,
    message: KafkaMessage,
    heartbeat: () => Promise<void>,
  ): Promise<{ kind: 'done' } | { kind: 'redeliver'; delayMs: number }> {
    const headers = fromKafkaHeaders(message.headers);
    const name = headers[WireHeaders.name];
    // A topic shared by several event names (custom topicFor): skip the ones this group did not ask for.
    if (name !== undefined && !this.#names.has(name)) return { kind: 'done' };

    const headKey = `${topic}\u0000${partition}`;
    const head = this.#heads.get(headKey);
    const attempts = head?.offset === message.offset ? head.attempts + 1 : 1;
    this.#heads.set(headKey, { offset: message.offset, attempts });

    // kafkajs heartbeats only between records; keep the membership alive while a slow handler runs.
    // A rebalance noticed here is acted on by the heartbeat after the record (the failed one is not remembered).
    const beat = setInterval(
      () => void heartbeat().catch(() => undefined),
      this.#deps.options.consumer.heartbeatInterval,
    );
    beat.unref?.();
    let disposition: Disposition;
    try {
      disposition = await this.#handler({ headers, body: bodyOf(message.value), deliveryAttempt: attempts });
    } catch (error) {
      this.#deps.logger.error('The delivery handler rejected; the record will be redelivered', { error });
      disposition = { kind: 'retry', delayMs: TROUBLE_RETRY_MS, reason: describeError(error) };
    } finally {
      clearInterval(beat);
    }
    if (disposition.kind === 'retry') return { kind: 'redeliver', delayMs: Math.max(0, disposition.delayMs) };
    if (disposition.kind === 'dead-letter') {
      try {
        await this.#deps.deadLetter(
          { group: this.#subscription.group, topic, partition, message },
          disposition.reason,
        );
      } catch (error) {
        this.#deps.logger.error('Could not write the dead-letter record; the record will be redelivered', {
          group: this.#subscription.group,
          topic,
          partition,
          offset: message.offset,
          error,
        });
        return { kind: 'redeliver', delayMs: TROUBLE_RETRY_MS };
      }
    }
    this.#heads.delete(headKey);
    return { kind: 'done' };
  }

  #pauseFor(pause: () => () => void, delayMs: number): void {
    const resume = pause();
    const timer = setTimeout(() => {
      this.#resumeTimers.delete(timer);
      try {
        if (!this.#closed) resume();
      } catch (error) {
        this.#deps.logger.warn('Could not resume a paused partition', { error });
      }
    }, delayMs);
    timer.unref?.();
    this.#resumeTimers.add(timer);
  }

  /** Stops fetching, waits for the record in hand, commits what was handled and leaves the group. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#resumeTimers) clearTimeout(timer);
    this.#resumeTimers.clear();
    await this.#consumer.disconnect();
  }
}
