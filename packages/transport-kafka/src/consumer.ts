import {
  type DeliveryHandler,
  type Disposition,
  describeError,
  type Logger,
  type Subscription,
  type SubscriptionHandle,
  TransportError,
} from '@herald/core';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { DeadLetterSource } from './dead-letters.js';
import { Limiter } from './limiter.js';
import { bodyOf, fromKafkaHeaders } from './native-mapping.js';
import type { ResolvedKafkaOptions } from './options.js';
import { type RecordOutcome, runPartitionBatch } from './partition-batch.js';
import type { TopicManager } from './topology.js';

/** Redelivery delay when core's handler rejects (it should not) or the dead-letter topic cannot be written. */
const TROUBLE_RETRY_MS = 1_000;
/** First and longest pause before a member that kafkajs gave up on is started again. */
const REVIVE_FIRST_MS = 1_000;
const REVIVE_MAX_MS = 30_000;
/** Upper bound of remembered redelivery counts (records waiting to come again). */
const MAX_REMEMBERED_ATTEMPTS = 10_000;

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
 * The records of a fetched partition batch are handed to core concurrently
 * across ordering keys (the record key): records of one key one at a time in
 * offset order, at most `consumer.concurrency` records of the subscription at
 * once. Every record reaches core, whatever its event name; `channelShared`
 * tells core whether the topic carries other names by design
 * (`sharedTopics`). A record's offset is resolved only once it and every
 * record before it in its partition are handled (ack carried out, or
 * dead-letter record confirmed); resolved offsets are committed every
 * `autoCommitThreshold` records / `autoCommitInterval`, at the end of each
 * fetched batch, before a rebalance hands the partitions away, and on close.
 * A `retry` stops the batch and pauses the partition with the offset left on
 * that record, so it comes again after the delay and nothing of its key
 * overtakes it (records of other keys handled after it come again too).
 */
export class KafkaSubscription implements SubscriptionHandle {
  readonly #subscription: Subscription;
  readonly #handler: DeliveryHandler;
  readonly #deps: SubscriptionDeps;
  #consumer: Consumer;
  /** Set once the member first joined: a crash after that is survived, one before fails `open`. */
  #joinedOnce = false;
  #reviving = false;
  readonly #resumeTimers = new Set<NodeJS.Timeout>();
  /** Records that asked to come again, by topic/partition/offset: how often each was delivered (for `deliveryAttempt`). */
  readonly #attempts = new Map<string, number>();
  /** Bounds the records of this subscription that are with core at once, across partitions. */
  readonly #limiter: Limiter;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(subscription: Subscription, handler: DeliveryHandler, deps: SubscriptionDeps) {
    this.#subscription = subscription;
    this.#handler = handler;
    this.#deps = deps;
    const { consumer } = deps.options;
    this.#limiter = new Limiter(consumer.concurrency);
    this.#consumer = this.#createConsumer();
  }

  #createConsumer(): Consumer {
    const { consumer } = this.#deps.options;
    return this.#deps.kafka.consumer({
      groupId: this.#subscription.group,
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
    const { options, topics } = this.#deps;
    const { group } = this.#subscription;
    const eventTopics = this.topics;
    await topics.ensure(eventTopics, 'event');
    await topics.ensure([options.deadLetterTopicFor(group)], 'dead-letter');
    await this.#join();
    this.#joinedOnce = true;
  }

  /** Connects the current kafkajs consumer, subscribes, runs it and resolves once it joined the group. */
  async #join(): Promise<void> {
    const { options, logger } = this.#deps;
    const { group } = this.#subscription;
    const eventTopics = this.topics;
    const consumer = this.#consumer;
    // kafkajs reports a failed join through its CRASH event, not through run(), so watch both.
    let joined = false;
    let fatal: unknown;
    let wake: () => void = () => undefined;
    const changed = new Promise<void>((resolve) => {
      wake = resolve;
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joined = true;
      wake();
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (this.#closed || consumer !== this.#consumer) return;
      if (payload.restart) {
        logger.warn('Kafka consumer crashed and restarts', { group, error: payload.error });
        return;
      }
      if (this.#joinedOnce) {
        // kafkajs gives up on a non-retriable crash; a member that stops for good would leave its
        // partitions unread while the service looks alive. Start a new one instead.
        void this.#revive(payload.error);
        return;
      }
      logger.error('Kafka consumer stopped and does not restart', { group, error: payload.error });
      fatal = payload.error;
      wake();
    });

    await consumer.connect();
    await consumer.subscribe({ topics: eventTopics, fromBeginning: options.consumer.fromBeginning });
    await consumer.run({
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
    // kafkajs heartbeats only between batches; keep the membership alive while core works on this one.
    // A failed heartbeat (usually: the group is rebalancing) stops the batch early, so the member
    // re-joins soon; kafkajs' own heartbeat after the batch then reports the rebalance.
    let heartbeatFailed = false;
    const beat = setInterval(
      () =>
        void heartbeat().catch(() => {
          heartbeatFailed = true;
        }),
      this.#deps.options.consumer.heartbeatInterval,
    );
    beat.unref?.();
    let committing: Promise<void> | undefined;
    let commitAgain = false;
    // One commit at a time; a request while one runs is folded into one more afterwards.
    const commitSoon = () => {
      if (committing) {
        commitAgain = true;
        return;
      }
      committing = (async () => {
        do {
          commitAgain = false;
          await commitOffsetsIfNecessary().catch((error: unknown) =>
            this.#deps.logger.warn('Could not commit Kafka offsets; they are committed later', {
              group: this.#subscription.group,
              error,
            }),
          );
        } while (commitAgain && !this.#closed);
        committing = undefined;
      })();
    };
    try {
      const records = batch.messages.map((message) => ({
        offset: message.offset,
        // The record key is Herald's ordering key: same key, one at a time, in offset order.
        lane: message.key ? message.key.toString('latin1') : undefined,
        message,
      }));
      const result = await runPartitionBatch(records, {
        limiter: this.#limiter,
        handle: (record) => this.#handle(topic, partition, record.message),
        shouldStop: () => this.#closed || heartbeatFailed || !isRunning() || isStale(),
        resolved: (offset) => {
          resolveOffset(offset);
          commitSoon();
        },
      });
      // Not resolved from the redelivered record on: the next fetch of this partition starts again there.
      if (result.redeliverAfterMs !== undefined && !this.#closed)
        this.#pauseFor(pause, result.redeliverAfterMs);
    } finally {
      clearInterval(beat);
      await committing;
    }
  }

  /**
   * Replaces a member kafkajs stopped for good with a new kafkajs consumer in
   * the same group, after a pause that doubles up to 30 s until one joins.
   * Records it had not committed come again (the inbox recognises them).
   */
  async #revive(cause: unknown): Promise<void> {
    if (this.#reviving || this.#closed) return;
    this.#reviving = true;
    const { logger } = this.#deps;
    const { group } = this.#subscription;
    logger.error(
      'Kafka consumer stopped after a crash kafkajs does not restart from; starting a new member',
      {
        group,
        error: cause,
      },
    );
    try {
      for (let delay = REVIVE_FIRST_MS; !this.#closed; delay = Math.min(delay * 2, REVIVE_MAX_MS)) {
        await new Promise((resolve) => setTimeout(resolve, delay).unref?.());
        if (this.#closed) return;
        const stopped = this.#consumer;
        this.#consumer = this.#createConsumer();
        await stopped.disconnect().catch(() => undefined);
        try {
          await this.#join();
          logger.warn('Kafka consumer group member started again after its crash', { group });
          return;
        } catch (error) {
          logger.warn('Could not start the Kafka consumer again; trying later', {
            group,
            error,
            retryInMs: delay * 2,
          });
        }
      }
    } finally {
      this.#reviving = false;
    }
  }

  /** Delivers one record and carries out core's disposition. Never rejects. */
  async #handle(topic: string, partition: number, message: KafkaMessage): Promise<RecordOutcome> {
    const headers = fromKafkaHeaders(message.headers);
    const attemptKey = `${topic}\u0000${partition}\u0000${message.offset}`;
    const attempts = (this.#attempts.get(attemptKey) ?? 0) + 1;
    let disposition: Disposition;
    try {
      disposition = await this.#handler({
        headers,
        body: bodyOf(message.value),
        deliveryAttempt: attempts,
        channelShared: this.#deps.options.sharedTopics,
      });
    } catch (error) {
      this.#deps.logger.error('The delivery handler rejected; the record will be redelivered', { error });
      disposition = { kind: 'retry', delayMs: TROUBLE_RETRY_MS, reason: describeError(error) };
    }
    if (disposition.kind === 'retry') {
      this.#rememberAttempt(attemptKey, attempts);
      return { kind: 'redeliver', delayMs: Math.max(0, disposition.delayMs) };
    }
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
        this.#rememberAttempt(attemptKey, attempts);
        return { kind: 'redeliver', delayMs: TROUBLE_RETRY_MS };
      }
    }
    this.#attempts.delete(attemptKey);
    return { kind: 'done' };
  }

  /** Remembers how often a record was delivered, for its `deliveryAttempt` when it comes again. */
  #rememberAttempt(key: string, attempts: number): void {
    // Bounded: a record that moved to another member never comes back here to be forgotten.
    if (this.#attempts.size >= MAX_REMEMBERED_ATTEMPTS) {
      const oldest = this.#attempts.keys().next().value;
      if (oldest !== undefined) this.#attempts.delete(oldest);
    }
    this.#attempts.set(key, attempts);
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
