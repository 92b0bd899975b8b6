import { randomUUID } from 'node:crypto';
import type { ServiceBusReceivedMessage, ServiceBusReceiver, ServiceBusSender } from '@azure/service-bus';
import type { Disposition, Logger } from '@herald/core';
import { deadLetterDescription } from './dead-letters.js';
import { type Decoded, toServiceBusMessage } from './native-mapping.js';
import { RETRY_SUBJECT } from './topology.js';

/** Service Bus limits `DeadLetterReason` and `DeadLetterErrorDescription` (application properties) in size. */
const MAX_REASON_LENGTH = 4_096;

/** What carrying out a disposition needs. */
export interface SettleContext {
  readonly receiver: Pick<ServiceBusReceiver, 'completeMessage' | 'abandonMessage' | 'deadLetterMessage'>;
  /** The topic's sender, for retry copies. */
  readonly sender: () => ServiceBusSender;
  readonly subscription: string;
  readonly group: string;
  /** Session mode: a short retry keeps the session (and so the key's order). */
  readonly holdSession: boolean;
  readonly maxSessionHoldMs: number;
  readonly maxDeliveryCount: number;
  /** Aborted when the subscription closes: a held retry stops waiting. */
  readonly closing: AbortSignal;
  readonly logger: Logger;
}

const clip = (text: string) =>
  text.length <= MAX_REASON_LENGTH ? text : `${text.slice(0, MAX_REASON_LENGTH - 1)}…`;

/**
 * Carries out core's decision on a delivery:
 * - `ack` → complete;
 * - `dead-letter` → dead-letter with the reason (`DeadLetterReason`) and the group
 *   (`DeadLetterErrorDescription`);
 * - `retry` → in session mode, when the delay is short and the delivery count leaves room,
 *   wait while holding the session and abandon (the message comes back first, so its key's
 *   order holds); otherwise send a copy scheduled `delayMs` ahead (`scheduledEnqueueTimeUtc`)
 *   addressed to this subscription with the next attempt number, then complete the original;
 *   when the copy cannot be sent, abandon the original (redelivered at once, delivery count + 1).
 * Settlement failures (a lost lock, a dropped link) are logged: the broker redelivers the
 * message and core's inbox absorbs the duplicate.
 */
export async function settle(
  context: SettleContext,
  message: ServiceBusReceivedMessage,
  decoded: Decoded,
  attempt: number,
  disposition: Disposition,
): Promise<void> {
  const { receiver } = context;
  try {
    if (disposition.kind === 'ack') {
      await receiver.completeMessage(message);
      return;
    }
    if (disposition.kind === 'dead-letter') {
      await receiver.deadLetterMessage(message, {
        deadLetterReason: clip(disposition.reason),
        deadLetterErrorDescription: deadLetterDescription(context.group),
      });
      return;
    }
    const delayMs = Math.max(0, disposition.delayMs);
    const priorFailures = message.deliveryCount ?? 0;
    if (
      context.holdSession &&
      delayMs <= context.maxSessionHoldMs &&
      priorFailures + 1 < context.maxDeliveryCount
    ) {
      await pause(delayMs, context.closing);
      await receiver.abandonMessage(message);
      return;
    }
    const copy = toServiceBusMessage(decoded.headers, decoded.body, {
      messageId: randomUUID(),
      subject: RETRY_SUBJECT,
      to: context.subscription,
      attempt: attempt + 1,
      scheduledEnqueueTimeUtc: new Date(Date.now() + delayMs),
      ...(message.sessionId !== undefined ? { sessionId: message.sessionId } : {}),
    });
    try {
      await context.sender().sendMessages(copy);
    } catch (error) {
      context.logger.warn('Service Bus: could not schedule a retry copy; abandoning the message instead', {
        subscription: context.subscription,
        messageId: message.messageId,
        error,
      });
      await receiver.abandonMessage(message);
      return;
    }
    await receiver.completeMessage(message);
  } catch (error) {
    context.logger.warn('Service Bus: settling a message failed; the broker will redeliver it', {
      subscription: context.subscription,
      messageId: message.messageId,
      disposition: disposition.kind,
      error,
    });
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
