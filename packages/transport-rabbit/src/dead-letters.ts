import { type DeadLetter, describeError, TransportError } from '@herald/core';
import type { Channel, GetMessage } from 'amqplib';
import type { Session } from './connection.js';
import { fromAmqp, TransportHeaders } from './native-mapping.js';

/** The headers a retry or dead-letter copy carries: attempt count, reason, and for dead letters when and from which group. */
export function settlementHeaders(
  kind: 'retry' | 'dead-letter',
  group: string,
  attempt: number,
  reason: string,
): Record<string, string | number> {
  return kind === 'retry'
    ? {
        [TransportHeaders.attempt]: attempt + 1,
        [TransportHeaders.retryReason]: truncate(reason),
      }
    : {
        [TransportHeaders.attempt]: attempt,
        [TransportHeaders.deadLetterReason]: truncate(reason),
        [TransportHeaders.deadLetteredAt]: new Date().toISOString(),
        [TransportHeaders.deadLetterGroup]: group,
      };
}

/**
 * Reads up to `limit` messages of a dead-letter queue without removing them:
 * basic.get on a private channel, holding every message unacknowledged until
 * done, then nack with requeue — the messages return to the queue in their
 * order. Concurrent consumers of the DLQ (none by default) would not see the
 * held messages meanwhile.
 */
export async function readDeadLetterQueue(
  session: Session,
  group: string,
  queue: string,
  limit: number,
): Promise<DeadLetter[]> {
  let channel: Channel | undefined;
  try {
    channel = await session.model.createChannel();
    channel.on('error', () => undefined);
    try {
      await channel.checkQueue(queue);
    } catch {
      return []; // never declared: no dead letters
    }
    const read: DeadLetter[] = [];
    while (read.length < limit) {
      const message: GetMessage | false = await channel.get(queue, { noAck: false });
      if (!message) break;
      const reason = message.properties.headers?.[TransportHeaders.deadLetterReason];
      read.push({
        headers: fromAmqp(message),
        body: new Uint8Array(message.content),
        reason: typeof reason === 'string' ? reason : 'unknown (dead-lettered without a reason header)',
      });
    }
    if (read.length > 0) channel.nackAll(true);
    return read;
  } catch (error) {
    throw new TransportError(`Could not read the dead letters of group "${group}": ${describeError(error)}`, {
      cause: error,
      retriable: true,
    });
  } finally {
    await channel?.close().catch(() => undefined);
  }
}

// Header values are long strings, but a reason the size of a stack trace helps nobody.
function truncate(reason: string): string {
  return reason.length > 4_000 ? `${reason.slice(0, 4_000)}…` : reason;
}
