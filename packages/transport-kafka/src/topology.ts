import { createHash } from 'node:crypto';
import type { TransportNaming } from '@herald/core';
import type { Admin } from 'kafkajs';
import { KafkaTopicMissingError } from './errors.js';
import type { ResolvedKafkaOptions } from './options.js';

/** What a topic is for: event topics and dead-letter topics are created with different settings. */
export type TopicKind = 'event' | 'dead-letter';

/**
 * Makes sure topics exist before they are used: creates the missing ones
 * (`autoCreateTopics`) or fails with {@link KafkaTopicMissingError} naming
 * them. Topics seen once are remembered, so the check costs one metadata
 * round trip per new topic, not per publish.
 */
export class TopicManager {
  readonly #admin: Admin;
  readonly #options: ResolvedKafkaOptions;
  readonly #known = new Set<string>();
  readonly #inFlight = new Map<string, Promise<void>>();

  constructor(admin: Admin, options: ResolvedKafkaOptions) {
    this.#admin = admin;
    this.#options = options;
  }

  /** Resolves when every topic exists; rejects with `KafkaTopicMissingError` (creation off) or the broker's error. */
  async ensure(topics: Iterable<string>, kind: TopicKind): Promise<void> {
    const wanted = [...new Set(topics)].filter((topic) => !this.#known.has(topic));
    if (wanted.length === 0) return;
    const waits = wanted.map((topic) => this.#inFlight.get(topic)).filter((wait) => wait !== undefined);
    const fresh = wanted.filter((topic) => !this.#inFlight.has(topic));
    if (fresh.length > 0) {
      const check = this.#check(fresh, kind);
      for (const topic of fresh) this.#inFlight.set(topic, check);
      void check
        .finally(() => {
          for (const topic of fresh) if (this.#inFlight.get(topic) === check) this.#inFlight.delete(topic);
        })
        .catch(() => undefined);
      waits.push(check);
    }
    await Promise.all(waits);
  }

  /** Forgets a topic (for example after the broker reported it unknown), so the next use checks again. */
  forget(topic: string): void {
    this.#known.delete(topic);
  }

  async #check(topics: string[], kind: TopicKind): Promise<void> {
    const existing = new Set(await this.#admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      if (!this.#options.autoCreateTopics) throw new KafkaTopicMissingError(missing);
      const { numPartitions, replicationFactor, configEntries, deadLetterPartitions } = this.#options.topics;
      await this.#admin.createTopics({
        waitForLeaders: true,
        timeout: this.#options.requestTimeout,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: kind === 'dead-letter' ? deadLetterPartitions : numPartitions,
          replicationFactor,
          configEntries:
            kind === 'dead-letter'
              ? []
              : Object.entries(configEntries).map(([name, value]) => ({ name, value })),
        })),
      });
    }
    for (const topic of topics) this.#known.add(topic);
  }
}

/** Kafka's limit on topic name length. */
const MAX_TOPIC_LENGTH = 249;
const ILLEGAL = /[^A-Za-z0-9._-]/g;

/**
 * Turns any text into a legal Kafka topic name (letters, digits, `.`, `_`,
 * `-`; at most 249 characters; not `.` or `..`). Legal names are kept as they
 * are; a name that had to change gets a short hash of the original appended,
 * so two different event names never share a topic by accident
 * (`orders/placed` and `orders_placed` stay apart).
 */
export function kafkaTopicName(text: string): string {
  const cleaned = text.replace(ILLEGAL, '_');
  const legal =
    cleaned === text && text.length > 0 && text.length <= MAX_TOPIC_LENGTH && text !== '.' && text !== '..';
  if (legal) return text;
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 10);
  const head = (cleaned === '.' || cleaned === '..' ? '' : cleaned).slice(
    0,
    MAX_TOPIC_LENGTH - hash.length - 1,
  );
  return head.length > 0 ? `${head}-${hash}` : `topic-${hash}`;
}

/** The default topic of an event: its name, made legal for Kafka. */
export function defaultTopicFor(eventName: string): string {
  return kafkaTopicName(eventName);
}

/** The default dead-letter topic of a consumer group: `herald.dlq.<group>`. */
export function defaultDeadLetterTopicFor(group: string): string {
  return kafkaTopicName(`herald.dlq.${group}`);
}

/**
 * The transport's naming for contracts and docs: each event on its topic
 * (`topicFor`), each group a Kafka consumer group of the same id with its
 * dead-letter topic.
 */
export function kafkaNaming(
  options: Pick<ResolvedKafkaOptions, 'topicFor' | 'deadLetterTopicFor'>,
): TransportNaming {
  return {
    protocol: 'kafka',
    channel: (eventName) => ({ address: options.topicFor(eventName) }),
    consumer: (group) => ({
      name: group,
      kind: 'consumer-group',
      deadLetter: options.deadLetterTopicFor(group),
    }),
  };
}
