import type {
  ProcessErrorArgs,
  ServiceBusClient,
  ServiceBusReceivedMessage,
  ServiceBusReceiver,
  ServiceBusSender,
  ServiceBusSessionReceiver,
} from '@azure/service-bus';
import { type DeliveryHandler, type Disposition, describeError } from '@herald/core';
import { fromServiceBusMessage } from './native-mapping.js';
import type { ResolvedOptions } from './options.js';
import { pause, settle } from './settlement.js';

/** Remembers the latest success and failure talking to the namespace (for `health()`). */
export class LinkHealth {
  #lastSuccessAt = 0;
  #lastFailureAt = 0;
  #lastFailure: string | undefined;

  success(): void {
    this.#lastSuccessAt = Date.now();
  }

  failure(error: unknown): void {
    this.#lastFailureAt = Date.now();
    this.#lastFailure = describeError(error);
  }

  get connected(): boolean {
    return this.#lastFailureAt === 0 || this.#lastSuccessAt >= this.#lastFailureAt;
  }

  get detail(): string | undefined {
    return this.connected ? undefined : this.#lastFailure;
  }
}

/** What a consumer of one (topic, subscription) needs. */
export interface ConsumerDeps {
  readonly client: ServiceBusClient;
  readonly topic: string;
  readonly subscription: string;
  readonly group: string;
  readonly handler: DeliveryHandler;
  readonly options: ResolvedOptions;
  /** The topic's sender, for retry copies. */
  readonly sender: () => ServiceBusSender;
  readonly health: LinkHealth;
}

/** Delay of a `retry` when the handler rejected, which core's handler never does. */
const REJECTED_HANDLER_RETRY_MS = 1_000;

/** Errors that only mean "no session is available right now". */
function isNoSessionAvailable(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code === 'ServiceTimeout' || code === 'SessionCannotBeLocked' || code === 'OperationTimeout';
}

abstract class Consumer {
  protected readonly closing = new AbortController();
  #inFlight = 0;
  #idle: Array<() => void> = [];

  constructor(protected readonly deps: ConsumerDeps) {}

  abstract start(): void;

  /** Stops taking messages, waits for deliveries in flight to be settled, then closes the links. */
  abstract close(): Promise<void>;

  /** Hands one message to core and carries out its disposition. Never rejects. */
  protected async deliver(
    receiver: ServiceBusReceiver | ServiceBusSessionReceiver,
    message: ServiceBusReceivedMessage,
    holdSession: boolean,
  ): Promise<void> {
    const { deps } = this;
    if (this.closing.signal.aborted) {
      // Arrived while closing: give it back at once for another member.
      await receiver.abandonMessage(message).catch(() => undefined);
      return;
    }
    this.#inFlight++;
    try {
      await this.#handle(receiver, message, holdSession);
    } catch (error) {
      // Never let one message break the SDK's receive loop; the broker redelivers it.
      deps.options.logger.error('Service Bus: delivering a message failed unexpectedly', {
        subscription: deps.subscription,
        messageId: message.messageId,
        error,
      });
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  async #handle(
    receiver: ServiceBusReceiver | ServiceBusSessionReceiver,
    message: ServiceBusReceivedMessage,
    holdSession: boolean,
  ): Promise<void> {
    const { deps } = this;
    deps.health.success();
    const decoded = fromServiceBusMessage(message);
    // The SDK reports the AMQP delivery-count: prior failed deliveries (0 on the first).
    const attempt = decoded.baseAttempt + (message.deliveryCount ?? 0);
    let disposition: Disposition;
    try {
      disposition = await deps.handler({
        headers: decoded.headers,
        body: decoded.body,
        deliveryAttempt: attempt,
        // A subscription's correlation rules admit only the group's own event names: any other is misrouted.
        channelShared: false,
      });
    } catch (error) {
      disposition = { kind: 'retry', delayMs: REJECTED_HANDLER_RETRY_MS, reason: describeError(error) };
    }
    await settle(
      {
        receiver,
        sender: deps.sender,
        subscription: deps.subscription,
        group: deps.group,
        holdSession,
        maxSessionHoldMs: deps.options.maxSessionHoldMs,
        maxDeliveryCount: deps.options.maxDeliveryCount,
        closing: this.closing.signal,
        logger: deps.options.logger,
      },
      message,
      decoded,
      attempt,
      disposition,
    );
  }

  protected whenIdle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  protected reportError(args: ProcessErrorArgs): void {
    const { deps } = this;
    if (this.closing.signal.aborted) return;
    deps.health.failure(args.error);
    const code = (args.error as { code?: string }).code;
    const context = {
      entityPath: args.entityPath,
      errorSource: args.errorSource,
      code,
      error: args.error,
    };
    if (code === 'MessagingEntityNotFound') {
      deps.options.logger.error(
        `Service Bus: subscription "${deps.topic}/${deps.subscription}" does not exist; create it (with a correlation rule per event name) or enable autoCreate`,
        context,
      );
    } else {
      deps.options.logger.warn('Service Bus: receive trouble (the SDK reconnects)', context);
    }
  }
}

/**
 * A non-session subscription: the SDK's streaming receiver with
 * `maxConcurrentCalls`. The SDK keeps that many messages in flight (link
 * credit) and calls us for each as it arrives, so up to `maxConcurrentCalls`
 * deliveries are with core at once (core handles what is ready together in
 * one inbox transaction); each is settled on its own as soon as core decided.
 */
export class StreamConsumer extends Consumer {
  #receiver: ServiceBusReceiver | undefined;
  #subscription: { close(): Promise<void> } | undefined;

  start(): void {
    const { client, topic, subscription, options } = this.deps;
    const receiver = client.createReceiver(topic, subscription, {
      receiveMode: 'peekLock',
      skipParsingBodyAsJson: true,
      maxAutoLockRenewalDurationInMs: options.maxAutoLockRenewalDurationMs,
    });
    this.#receiver = receiver;
    this.#subscription = receiver.subscribe(
      {
        processMessage: (message) => this.deliver(receiver, message, false),
        processError: async (args) => this.reportError(args),
      },
      { autoCompleteMessages: false, maxConcurrentCalls: options.maxConcurrentCalls },
    );
  }

  async close(): Promise<void> {
    this.closing.abort();
    const log = (error: unknown) =>
      this.deps.options.logger.warn('Service Bus: closing a receiver failed', { error });
    await this.#subscription?.close().catch(log);
    await this.whenIdle();
    await this.#receiver?.close().catch(log);
  }
}

/**
 * A session-enabled subscription: `maxConcurrentSessions` workers each accept the next
 * available session, handle its messages one at a time (so a key is handled in order),
 * and release the session after `sessionIdleTimeoutMs` without messages.
 */
export class SessionConsumer extends Consumer {
  #workers: Promise<void>[] = [];

  start(): void {
    for (let index = 0; index < this.deps.options.maxConcurrentSessions; index++)
      this.#workers.push(this.#work());
  }

  async close(): Promise<void> {
    this.closing.abort();
    await Promise.all(this.#workers);
    await this.whenIdle();
  }

  async #work(): Promise<void> {
    const { client, topic, subscription, options } = this.deps;
    const signal = this.closing.signal;
    while (!signal.aborted) {
      let receiver: ServiceBusSessionReceiver;
      try {
        receiver = await client.acceptNextSession(topic, subscription, {
          receiveMode: 'peekLock',
          skipParsingBodyAsJson: true,
          maxAutoLockRenewalDurationInMs: options.maxAutoLockRenewalDurationMs,
          abortSignal: signal,
        });
      } catch (error) {
        if (signal.aborted) return;
        if (!isNoSessionAvailable(error)) {
          this.reportError({
            error: error as Error,
            errorSource: 'receive',
            entityPath: `${topic}/Subscriptions/${subscription}`,
            fullyQualifiedNamespace: '',
            identifier: '',
          });
        }
        await pause(options.sessionRetryDelayMs, signal);
        continue;
      }
      try {
        await this.#handleSession(receiver);
      } finally {
        await receiver.close().catch(() => undefined);
      }
    }
  }

  /** Streams one session's messages (one at a time) until it is idle, lost, or the consumer closes. */
  #handleSession(receiver: ServiceBusSessionReceiver): Promise<void> {
    const { options } = this.deps;
    const signal = this.closing.signal;
    return new Promise<void>((resolve) => {
      let lastActivity = Date.now();
      let current: Promise<void> | undefined;
      let finished = false;
      const finish = async () => {
        if (finished) return;
        finished = true;
        clearInterval(timer);
        signal.removeEventListener('abort', onAbort);
        await subscription.close().catch(() => undefined);
        await current;
        resolve();
      };
      const onAbort = () => void finish();
      const subscription = receiver.subscribe(
        {
          processMessage: async (message) => {
            lastActivity = Date.now();
            current = this.deliver(receiver, message, true);
            await current;
            current = undefined;
            lastActivity = Date.now();
          },
          processError: async (args) => {
            this.reportError(args);
            // A lost session or link cannot be resumed: release it and accept the next one.
            if (args.errorSource === 'receive') void finish();
          },
        },
        { autoCompleteMessages: false, maxConcurrentCalls: 1 },
      );
      const idleMs = options.sessionIdleTimeoutMs;
      const timer = setInterval(
        () => {
          if (current === undefined && Date.now() - lastActivity >= idleMs) void finish();
        },
        Math.max(10, Math.min(idleMs / 4, 250)),
      );
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) void finish();
    });
  }
}
