import { TopicEventResponse_TopicEventResponseStatus as Status } from '@dapr/dapr/proto/dapr/proto/runtime/v1/appcallback_pb.js';
import { describeError, type Logger } from '@herald/core';
import type { DaprApi, SidecarConnection } from './connection.js';
import { DaprSubscriptionError } from './errors.js';
import type { DeliveredEvent } from './native-mapping.js';
import { RequestQueue } from './request-queue.js';

/** Dapr's verdict on one delivered event. */
export type EventStatus = 'SUCCESS' | 'RETRY' | 'DROP';

const STATUS: Record<EventStatus, Status> = {
  SUCCESS: Status.SUCCESS,
  RETRY: Status.RETRY,
  DROP: Status.DROP,
};

/** Handles one event; resolves with the status to send back, or `undefined` to send nothing (stream closing: the event is given back after the end). */
export type EventCallback = (
  event: DeliveredEvent,
  stream: { readonly closing: boolean },
) => Promise<EventStatus | undefined>;

/**
 * Gives back, once a closed stream has ended, the events it left unanswered:
 * those that arrived after `close()` and those the callback answered with
 * nothing. After the end, because daprd (1.18) acknowledges on
 * `pubsub.redis` a delivery that fails while its stream ends: a copy sent
 * earlier could come back on the ending stream and be lost that way.
 */
export type GiveBackCallback = (events: readonly DeliveredEvent[]) => Promise<void>;

/** Where to subscribe. */
export interface EventStreamTarget {
  readonly pubsubName: string;
  readonly topic: string;
}

/**
 * One Dapr streaming subscription (`SubscribeTopicEventsAlpha1`): the client
 * opens it, no app port needed. Events are handled concurrently; each gets
 * its status back on the stream it came from. A broken stream is opened
 * again (events in flight on it are redelivered by the broker); `close()`
 * waits for the events in flight, answers them, then ends the stream.
 */
export class EventStream {
  private readonly inFlight = new Set<Promise<void>>();
  /** Events of this stream left unanswered while closing, given back after the end. */
  private readonly unanswered: DeliveredEvent[] = [];
  private requests: RequestQueue<SubscribeTopicEventsRequestAlpha1Init> | undefined;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private closed = false;
  private wakeReconnect: (() => void) | undefined;

  constructor(
    private readonly connection: SidecarConnection,
    private readonly target: EventStreamTarget,
    private readonly onEvent: EventCallback,
    private readonly settings: {
      readonly subscribeTimeoutMs: number;
      readonly resubscribeDelayMs: number;
      readonly logger: Logger;
    },
    private readonly giveBack?: GiveBackCallback,
  ) {}

  /** Whether `close()` was called. */
  get closing(): boolean {
    return this.closed;
  }

  /**
   * Opens the subscription; resolves when the sidecar accepted it (the consumer
   * group exists). A refusal (broker restarting, component still connecting)
   * is tried again until `subscribeTimeoutMs` has passed.
   */
  async open(): Promise<void> {
    const deadline = Date.now() + this.settings.subscribeTimeoutMs;
    for (;;) {
      try {
        const accepted = await this.connectOnce();
        this.loop = this.run(accepted);
        return;
      } catch (error) {
        if (Date.now() + this.settings.resubscribeDelayMs >= deadline) throw error;
        this.settings.logger.debug('dapr: subscription refused; trying again', {
          ...this.describe(),
          error: describeError(error),
        });
        await new Promise((resolve) => setTimeout(resolve, this.settings.resubscribeDelayMs));
      }
    }
  }

  /** Stops taking events, waits for those in flight (answering them), then ends the stream. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeReconnect?.();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    this.requests?.end();
    // The sidecar ends its side after our half-close; abort if it does not within a moment.
    const timer = setTimeout(() => this.abort?.abort(), 2_000);
    await this.loop?.catch(() => undefined);
    clearTimeout(timer);
    if (this.giveBack && this.unanswered.length > 0) {
      try {
        await this.giveBack(this.unanswered.splice(0));
      } catch (error) {
        this.settings.logger.error('dapr: events left unanswered at close were not all given back', {
          ...this.describe(),
          error: describeError(error),
        });
      }
    }
  }

  private async connectOnce(): Promise<AsyncIterator<unknown>> {
    const requests = new RequestQueue<SubscribeTopicEventsRequestAlpha1Init>();
    const abort = new AbortController();
    requests.push({
      subscribeTopicEventsRequestType: {
        case: 'initialRequest',
        value: { pubsubName: this.target.pubsubName, topic: this.target.topic, metadata: {} },
      },
    });
    const responses = this.connection.dapr
      .subscribeTopicEventsAlpha1(requests, { signal: abort.signal })
      [Symbol.asyncIterator]();
    const timer = setTimeout(() => abort.abort(), this.settings.subscribeTimeoutMs);
    try {
      const first = await responses.next();
      if (first.done || first.value.subscribeTopicEventsResponseType.case !== 'initialResponse') {
        throw new Error('the stream ended before the subscription was confirmed');
      }
    } catch (error) {
      requests.end();
      abort.abort();
      throw new DaprSubscriptionError(this.target.pubsubName, this.target.topic, describeError(error), {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
    this.requests = requests;
    this.abort = abort;
    return responses;
  }

  private async run(initial: AsyncIterator<unknown>): Promise<void> {
    let responses: AsyncIterator<unknown> | undefined = initial;
    while (!this.closed) {
      if (responses) {
        try {
          await this.consume(responses as AsyncIterator<SubscribeTopicEventsResponse>);
          if (!this.closed)
            this.settings.logger.warn(
              'dapr: the sidecar ended a subscription stream; reopening',
              this.describe(),
            );
        } catch (error) {
          if (!this.closed) {
            this.settings.logger.warn('dapr: subscription stream broke; reopening', {
              ...this.describe(),
              error: describeError(error),
            });
          }
        }
        this.requests?.end();
        responses = undefined;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.settings.resubscribeDelayMs);
        this.wakeReconnect = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeReconnect = undefined;
      if (this.closed) return;
      try {
        responses = await this.connectOnce();
        this.settings.logger.info('dapr: subscription stream reopened', this.describe());
      } catch (error) {
        this.settings.logger.debug('dapr: reopening the subscription failed; trying again', {
          ...this.describe(),
          error: describeError(error),
        });
      }
    }
  }

  private async consume(responses: AsyncIterator<SubscribeTopicEventsResponse>): Promise<void> {
    const requests = this.requests!;
    for (;;) {
      const next = await responses.next();
      if (next.done) return;
      const kind = next.value.subscribeTopicEventsResponseType;
      if (kind.case !== 'eventMessage') continue;
      const event = kind.value;
      // After close() nothing new reaches the handler; a late event is given back after the end.
      if (this.closed) {
        this.unanswered.push(event);
        continue;
      }
      const task = this.onEvent(event, this).then(
        (status) => {
          if (status === undefined) {
            this.unanswered.push(event);
          } else {
            requests.push({
              subscribeTopicEventsRequestType: {
                case: 'eventProcessed',
                value: { id: event.id, status: { status: STATUS[status] } },
              },
            });
          }
        },
        (error: unknown) => {
          this.settings.logger.error('dapr: event callback failed; the broker redelivers the event', {
            ...this.describe(),
            error: describeError(error),
          });
          requests.push({
            subscribeTopicEventsRequestType: {
              case: 'eventProcessed',
              value: { id: event.id, status: { status: STATUS.RETRY } },
            },
          });
        },
      );
      this.inFlight.add(task);
      void task.finally(() => this.inFlight.delete(task));
    }
  }

  private describe(): Record<string, string> {
    return { pubsub: this.target.pubsubName, topic: this.target.topic };
  }
}

/** The request message in its init form (plain object, as ConnectRPC accepts it). */
type SubscribeTopicEventsRequestAlpha1Init =
  Parameters<DaprApi['subscribeTopicEventsAlpha1']>[0] extends AsyncIterable<infer T> ? T : never;

/** What the sidecar sends on the stream (just the parts read here). */
interface SubscribeTopicEventsResponse {
  readonly subscribeTopicEventsResponseType:
    | { readonly case: 'initialResponse'; readonly value: unknown }
    | { readonly case: 'eventMessage'; readonly value: DeliveredEvent }
    | { readonly case: undefined; readonly value?: undefined };
}
