import type { ServiceBusClient } from '@azure/service-bus';
import { type DeadLetter, TransportError } from '@herald/core';
import Long from 'long';
import { fromServiceBusMessage } from './native-mapping.js';

/** Messages asked for per `peekMessages` call when reading dead letters. */
const PEEK_PAGE = 100;

/** Builds the dead-letter description Herald writes next to the reason. */
export function deadLetterDescription(group: string): string {
  return `Dead-lettered by Herald consumer group "${group}"`;
}

/**
 * Peeks (never receives) up to `limit` messages of the subscription's dead-letter
 * sub-queue on each topic, oldest first, with the reason and Herald's description.
 */
export async function readDeadLetterQueues(
  client: ServiceBusClient,
  topics: readonly string[],
  subscription: string,
  limit: number,
): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  for (const topic of topics) {
    if (letters.length >= limit) break;
    const receiver = client.createReceiver(topic, subscription, {
      subQueueType: 'deadLetter',
      skipParsingBodyAsJson: true,
    });
    try {
      let from = Long.fromNumber(0);
      while (letters.length < limit) {
        const page = await receiver
          .peekMessages(Math.min(PEEK_PAGE, limit - letters.length), { fromSequenceNumber: from })
          .catch((error: { code?: string }) => {
            // Some SDK versions report an empty dead-letter queue as "message not found".
            if (error?.code === 'MessageNotFound') return [];
            throw error;
          });
        if (page.length === 0) break;
        for (const message of page) {
          const { headers, body } = fromServiceBusMessage(message, { deadLetter: true });
          const reason = message.deadLetterReason ?? 'unknown';
          const description = message.deadLetterErrorDescription;
          letters.push({ headers, body, reason: description ? `${reason} (${description})` : reason });
        }
        const last = page[page.length - 1]!.sequenceNumber;
        if (!last) break;
        from = last.add(1);
      }
    } catch (error) {
      // A group that never subscribed on this topic has no subscription, so no dead letters.
      if ((error as { code?: string }).code === 'MessagingEntityNotFound') continue;
      throw new TransportError(`Could not read the dead letters of "${topic}/${subscription}"`, {
        cause: error,
      });
    } finally {
      await receiver.close().catch(() => undefined);
    }
  }
  return letters.slice(0, limit);
}
