import { type HeraldError, type PublishOutcome, TransportError, type WireMessage } from '@herald/core';
import { asTransportError } from './errors.js';
import { producerStateLost, type RenewableProducer } from './idempotent-producer.js';
import { toRecord } from './native-mapping.js';
import type { ResolvedKafkaOptions } from './options.js';
import type { TopicManager } from './topology.js';

/**
 * Sends the messages in one `sendBatch` (grouped by topic, array order kept
 * per topic) with the idempotent producer and `acks = -1`, one outcome per
 * message in input order. A topic that is missing (and may not be created)
 * fails only its own messages. A failed send fails the whole batch (the
 * producer is then replaced, see {@link RenewableProducer}); when the broker
 * lost the producer's idempotence state, that failure is retriable.
 */
export async function publishBatch(
  producer: RenewableProducer,
  topics: TopicManager,
  options: ResolvedKafkaOptions,
  messages: readonly WireMessage[],
): Promise<PublishOutcome[]> {
  const failed = new Map<number, HeraldError>();
  const byTopic = new Map<string, number[]>();
  messages.forEach((message, index) => {
    try {
      const topic = options.topicFor(message.name);
      // Appended in place: copying the list per message cost O(n²) for a relay batch of one topic.
      const indexes = byTopic.get(topic);
      if (indexes) indexes.push(index);
      else byTopic.set(topic, [index]);
    } catch (error) {
      failed.set(index, asTransportError(error, `topicFor("${message.name}")`));
    }
  });
  await Promise.all(
    [...byTopic].map(async ([topic, indexes]) => {
      try {
        await topics.ensure([topic], 'event');
      } catch (error) {
        const reason = asTransportError(error, `checking topic "${topic}"`);
        for (const index of indexes) failed.set(index, reason);
        byTopic.delete(topic);
      }
    }),
  );
  if (byTopic.size > 0) {
    try {
      const topicMessages = [...byTopic].map(([topic, indexes]) => ({
        topic,
        messages: indexes.map((index) => toRecord(messages[index]!)),
      }));
      await producer.send((kafkaProducer) =>
        kafkaProducer.sendBatch({
          acks: -1,
          timeout: options.producer.timeout,
          ...(options.producer.compression !== undefined
            ? { compression: options.producer.compression }
            : {}),
          topicMessages,
        }),
      );
    } catch (error) {
      // kafkajs reports a batch as a whole; some records may have been written (at-least-once: the inbox absorbs them).
      const reason = producerStateLost(error)
        ? new TransportError(
            `Kafka publish failed: ${(error as Error).message}; retried with a new producer id`,
            {
              cause: error,
              retriable: true,
            },
          )
        : asTransportError(error, 'publish');
      for (const [topic, indexes] of byTopic) {
        topics.forget(topic);
        for (const index of indexes) failed.set(index, reason);
      }
    }
  }
  return messages.map((message, index) => {
    const error = failed.get(index);
    return error ? { id: message.id, ok: false, error } : { id: message.id, ok: true };
  });
}
