import { type DeliveryHandler, type Disposition, describeError, type Logger, sleep } from '@herald/core';
import type { DaprDeadLetters } from './dead-letters.js';
import type { EventStatus } from './event-stream.js';
import type { GiveBackMode } from './give-back.js';
import { type DeliveredEvent, readHeraldHeaders } from './native-mapping.js';

/** Delay before handing a delivery again whose handler rejected (core's never does). */
const REJECTED_HANDLER_RETRY_MS = 1_000;

/** Delay before sending again a dead letter the sidecar did not accept. */
const DEAD_LETTER_RETRY_MS = 1_000;

/** What a group consumer needs to know about the topic it reads. */
export interface ConsumerContext {
  readonly group: string;
  readonly pubsubName: string;
  readonly topic: string;
  /** The topic carries event names the group did not subscribe to (custom `topicFor`). */
  readonly channelShared: boolean;
}

/**
 * Turns a Dapr event into deliveries to core and core's disposition into
 * Dapr's status:
 *
 * - `ack` → `SUCCESS`;
 * - `retry` → the event stays in flight (unanswered, so the broker keeps it)
 *   and is handed to core again after `delayMs` with a higher
 *   `deliveryAttempt`;
 * - `dead-letter` → published to the group's dead-letter topic with the
 *   reason, then `DROP`; a dead letter the sidecar does not accept is sent
 *   again after a pause.
 *
 * An event not finished when the subscription closes is given back (see
 * {@link GiveBackMode}): by default left unanswered and republished once the
 * stream has ended — never a bare `RETRY`, because Dapr 1.18's `pubsub.redis`
 * acknowledges a delivery that failed early and the message would be lost.
 */
export class DaprConsumer {
  /** Aborted when the subscription closes: ends the retry waits early. */
  private readonly closing = new AbortController();

  constructor(
    private readonly context: ConsumerContext,
    private readonly handler: DeliveryHandler,
    private readonly deadLetters: DaprDeadLetters,
    private readonly giveBackMode: GiveBackMode,
    private readonly logger: Logger,
  ) {}

  /** Handles one event until it has a final status. */
  async onEvent(
    event: DeliveredEvent,
    stream: { readonly closing: boolean },
  ): Promise<EventStatus | undefined> {
    const reading = readHeraldHeaders(event);
    if (!reading.ok) {
      this.logger.debug('dapr: event without Herald headers; core will dead-letter it', {
        group: this.context.group,
        topic: this.context.topic,
        problem: reading.problem,
      });
    }
    const headers = reading.ok ? reading.headers : {};
    for (let attempt = 1; ; attempt++) {
      if (stream.closing) return this.unfinished();
      const disposition = await this.deliver(headers, event.data, attempt);
      if (disposition.kind === 'ack') return 'SUCCESS';
      if (disposition.kind === 'dead-letter')
        return this.deadLetter(event, headers, disposition.reason, stream);
      await sleep(disposition.delayMs, this.closing.signal);
    }
  }

  /** Publishes the dead letter, then `DROP`; while the sidecar refuses it, tries again (or gives the event back when closing). */
  private async deadLetter(
    event: DeliveredEvent,
    headers: Record<string, string>,
    reason: string,
    stream: { readonly closing: boolean },
  ): Promise<EventStatus | undefined> {
    for (;;) {
      try {
        await this.deadLetters.send({ ...this.context, event, headers }, reason);
        return 'DROP';
      } catch (error) {
        this.logger.error('dapr: dead letter not accepted; sending it again', {
          group: this.context.group,
          topic: this.context.topic,
          error: describeError(error),
        });
      }
      if (stream.closing) return this.unfinished();
      await sleep(DEAD_LETTER_RETRY_MS, this.closing.signal);
    }
  }

  /**
   * The answer for an event not finished as the subscription closes: none with
   * `'republish'` (the event stream gives it back once the stream has ended),
   * `RETRY` with `'retry'`.
   */
  private unfinished(): EventStatus | undefined {
    return this.giveBackMode === 'retry' ? 'RETRY' : undefined;
  }

  /** Ends the retry waits early (the subscription is closing). */
  wakeAll(): void {
    this.closing.abort();
  }

  private async deliver(
    headers: Record<string, string>,
    body: Uint8Array,
    attempt: number,
  ): Promise<Disposition> {
    try {
      return await this.handler({
        headers,
        body,
        deliveryAttempt: attempt,
        ...(this.context.channelShared ? { channelShared: true } : {}),
      });
    } catch (error) {
      this.logger.error('dapr: delivery handler rejected; retrying', {
        group: this.context.group,
        error: describeError(error),
      });
      return { kind: 'retry', delayMs: REJECTED_HANDLER_RETRY_MS, reason: describeError(error) };
    }
  }
}
