import { createHash } from 'node:crypto';
import type { TransportNaming } from '@herald/core';

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
export function kafkaNaming(options: {
  readonly topicFor: (eventName: string) => string;
  readonly deadLetterTopicFor: (group: string) => string;
}): TransportNaming {
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
