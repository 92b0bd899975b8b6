import { randomUUID } from 'node:crypto';
import type { DeadLetter, Logger } from '@herald/core';
import type { Admin, Kafka, KafkaMessage, Message } from 'kafkajs';
import { bodyOf, fromKafkaHeaders } from './native-mapping.js';

/** Headers the transport adds to a dead-lettered record, next to the original ones. */
export const DeadLetterHeaders = {
  /** Why core rejected the message (`Disposition.reason`). */
  reason: 'herald-dlq-reason',
  /** Consumer group that rejected it. */
  group: 'herald-dlq-group',
  /** Topic the original record was read from. */
  topic: 'herald-dlq-topic',
  /** Partition of the original record (decimal). */
  partition: 'herald-dlq-partition',
  /** Offset of the original record in its partition (decimal). */
  offset: 'herald-dlq-offset',
  /** When it was dead-lettered (ISO 8601). */
  at: 'herald-dlq-at',
} as const;

const DLQ_HEADER_NAMES = new Set<string>(Object.values(DeadLetterHeaders));

/** Where a rejected record came from. */
export interface DeadLetterSource {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

/** The dead-letter record of a rejected one: same key, value and headers, plus the reason and origin. */
export function deadLetterRecord(source: DeadLetterSource, reason: string): Message {
  const { message } = source;
  return {
    key: message.key,
    value: message.value,
    headers: {
      ...message.headers,
      [DeadLetterHeaders.reason]: reason,
      [DeadLetterHeaders.group]: source.group,
      [DeadLetterHeaders.topic]: source.topic,
      [DeadLetterHeaders.partition]: String(source.partition),
      [DeadLetterHeaders.offset]: message.offset,
      [DeadLetterHeaders.at]: new Date().toISOString(),
    },
  };
}

/** Turns a dead-letter record back into the original headers and body plus the reason. */
export function toDeadLetter(message: KafkaMessage): DeadLetter {
  const all = fromKafkaHeaders(message.headers);
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(all)) if (!DLQ_HEADER_NAMES.has(key)) headers[key] = value;
  return {
    headers,
    body: bodyOf(message.value),
    reason: all[DeadLetterHeaders.reason] ?? '(no reason recorded)',
  };
}

/**
 * Reads up to `limit` records of a dead-letter topic, oldest first, with a
 * throwaway consumer group that commits nothing and is deleted afterwards
 * (kafkajs has no group-less consumer). Reads only what was there when the
 * call started; rejects after `timeoutMs`.
 */
export async function readDeadLetterTopic(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  limit: number,
  options: { timeoutMs: number; logger: Logger },
): Promise<DeadLetter[]> {
  const ends = new Map<number, bigint>();
  for (const partition of await admin.fetchTopicOffsets(topic)) {
    if (BigInt(partition.high) > BigInt(partition.low)) ends.set(partition.partition, BigInt(partition.high));
  }
  if (ends.size === 0 || limit <= 0) return [];

  const groupId = `herald-dlq-reader-${randomUUID()}`;
  const consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: 100,
    allowAutoTopicCreation: false,
    retry: { retries: 2 },
  });
  const read = new Map<number, KafkaMessage[]>();
  const pending = new Set(ends.keys());
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`Reading dead-letter topic "${topic}" did not finish within ${options.timeoutMs} ms`),
          ),
        options.timeoutMs,
      );
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const end = ends.get(batch.partition);
            if (end === undefined) return;
            const list = read.get(batch.partition) ?? [];
            read.set(batch.partition, list);
            for (const message of batch.messages) {
              if (BigInt(message.offset) >= end) break;
              if (list.length < limit) list.push(message);
              if (BigInt(message.offset) >= end - 1n) pending.delete(batch.partition);
            }
            // The batch's last offset also covers records kafkajs filtered out (transaction markers).
            if (list.length >= limit || BigInt(batch.lastOffset()) >= end - 1n)
              pending.delete(batch.partition);
            if (pending.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    clearTimeout(timer);
    await consumer
      .disconnect()
      .catch((error) => options.logger.warn('Dead-letter reader did not disconnect cleanly', { error }));
    await admin
      .deleteGroups([groupId])
      .catch((error) =>
        options.logger.debug('Could not delete the dead-letter reader group', { groupId, error }),
      );
  }
  return [...read.values()]
    .flat()
    .sort((a, b) => Number(BigInt(a.timestamp) - BigInt(b.timestamp)))
    .slice(0, limit)
    .map(toDeadLetter);
}
