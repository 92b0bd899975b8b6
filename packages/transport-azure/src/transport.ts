import {
  ServiceBusAdministrationClient,
  ServiceBusClient,
  type ServiceBusClientOptions,
  type ServiceBusSender,
} from '@azure/service-bus';
import {
  BusStateError,
  type DeadLetter,
  type DeliveryHandler,
  HeraldError,
  type PublishOutcome,
  redactError,
  type Subscription,
  type SubscriptionHandle,
  type Transport,
  type TransportCapabilities,
  TransportError,
  type TransportNaming,
  type WireMessage,
} from '@herald/core';
import { LinkHealth, SessionConsumer, StreamConsumer } from './consumer.js';
import { readDeadLetterQueues } from './dead-letters.js';
import { isRetriable } from './errors.js';
import { fitId, toServiceBusMessage } from './native-mapping.js';
import {
  type AzureServiceBusTransportOptions,
  checkSubscriptionName,
  fnv1a,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';
import { type Outgoing, sendInBatches } from './publisher.js';
import {
  administrationProvisioner,
  serviceBusNaming,
  subscriptionRules,
  type TopologyProvisioner,
} from './topology.js';

interface Closable {
  close(): Promise<void>;
}

/**
 * Herald's transport on Azure Service Bus: core's {@link Transport} port with dead-letter
 * reading and health. See {@link azureServiceBusTransport} and the package README for the
 * topology and what each disposition does.
 */
export interface AzureServiceBusTransport extends Transport {
  readonly name: 'azure-service-bus';
  readDeadLetters(group: string, limit: number): Promise<DeadLetter[]>;
  health(): Promise<{
    /** True while started and the latest send or receive link operation succeeded (or none has failed yet). */
    readonly connected: boolean;
    /** The transport's state when not started, or the latest failure; absent when connected. */
    readonly detail?: string;
  }>;
  /** Topics, subjects and subscriptions as this transport names them (read by `@herald/contracts`). */
  readonly naming: TransportNaming;
}

/**
 * A Herald {@link Transport} on Azure Service Bus, for `builder.useTransport(...)`.
 *
 * - Publishing: every event goes to the bus topic (`topic`, default `herald`; or a topic per
 *   event when `topic` is a function) with `subject` = event name, in `createMessageBatch`
 *   batches (a full batch is sent and a new one started); in session mode the ordering key
 *   is the `sessionId`.
 * - Consuming: one subscription per consumer group (`service` or `service.group`) with a
 *   correlation-filter rule per event name (`subject`), peek-lock receive with lock renewal;
 *   `ack` → complete, `retry` → a copy scheduled `delayMs` ahead (or, in session mode, the
 *   session held and the message abandoned), `dead-letter` → the subscription's dead-letter
 *   queue with the reason.
 * - `autoCreate` creates missing topics, subscriptions and rules through the administration
 *   API; off by default (entities are usually created by infrastructure code).
 *
 * Options are validated at once; bad values throw `ConfigurationError`.
 */
export function azureServiceBusTransport(options: AzureServiceBusTransportOptions): AzureServiceBusTransport {
  return new ServiceBusTransport(options);
}

class ServiceBusTransport implements AzureServiceBusTransport {
  readonly name = 'azure-service-bus' as const;
  readonly capabilities: TransportCapabilities;
  /** Topics, subjects and subscriptions as this transport names them (read by `@herald/contracts`). */
  readonly naming: TransportNaming;
  readonly #options: ResolvedOptions;
  readonly #senders = new Map<string, ServiceBusSender>();
  readonly #ensuredTopics = new Map<string, Promise<void>>();
  /** Topics each group subscribed to here (for `readDeadLetters`). */
  readonly #groupTopics = new Map<string, Set<string>>();
  readonly #consumers = new Set<Closable>();
  readonly #health = new LinkHealth();
  #client: ServiceBusClient | undefined;
  #provisioner: TopologyProvisioner | undefined;
  #state: 'new' | 'started' | 'stopping' | 'stopped' = 'new';

  constructor(options: AzureServiceBusTransportOptions) {
    this.#options = resolveOptions(options);
    this.naming = serviceBusNaming(this.#options);
    this.capabilities = {
      orderedByKey: this.#options.sessions,
      persistent: true,
      deadLetter: true,
      batchPublish: true,
      delayedRedelivery: true,
      consumerGroups: true,
    };
  }

  async start(): Promise<void> {
    if (this.#state === 'started') return;
    if (this.#state === 'stopping') throw new BusStateError('The Service Bus transport is stopping');
    const options = this.#options;
    const clientOptions: ServiceBusClientOptions = {
      ...(options.retryOptions ? { retryOptions: options.retryOptions } : {}),
      ...(options.webSocketOptions ? { webSocketOptions: options.webSocketOptions } : {}),
    };
    const { connection } = options;
    if (connection.kind === 'client') this.#client = connection.client;
    else if (connection.kind === 'connection-string') {
      this.#client = new ServiceBusClient(connection.connectionString, clientOptions);
    } else {
      this.#client = new ServiceBusClient(
        connection.fullyQualifiedNamespace,
        connection.credential as never,
        clientOptions,
      );
    }
    if (options.autoCreate) this.#provisioner = options.provisioner ?? this.#administration();
    this.#state = 'started';
    if (options.fixedTopic !== undefined) {
      try {
        await this.#ensureTopic(options.fixedTopic);
        // Opens the connection and the sender link now, so bad settings fail `start()` rather than the first publish.
        await this.#sender(options.fixedTopic).createMessageBatch();
        this.#health.success();
      } catch (error) {
        await this.stop();
        throw redactError(
          new TransportError(`Could not reach Service Bus topic "${options.fixedTopic}"`, {
            cause: error,
            retriable: isRetriable(error),
          }),
          options.secrets,
        );
      }
    }
  }

  async publish(messages: readonly WireMessage[]): Promise<PublishOutcome[]> {
    if (this.#state !== 'started' || !this.#client) {
      throw new TransportError('The Service Bus transport is not started');
    }
    const outcomes: PublishOutcome[] = messages.map((message) => ({
      id: message.id,
      ok: false,
      error: undefined,
    }));
    const byTopic = new Map<string, Outgoing[]>();
    for (const [index, message] of messages.entries()) {
      let topic: string;
      try {
        topic = this.#options.topicOf(message.name);
      } catch (error) {
        outcomes[index] = { id: message.id, ok: false, error };
        continue;
      }
      const sessionId = this.#sessionOf(message);
      let outgoing: Outgoing;
      try {
        outgoing = {
          index,
          message: toServiceBusMessage(message.headers, message.body, {
            messageId: message.id,
            subject: message.name,
            ...(sessionId !== undefined ? { sessionId } : {}),
          }),
          key: message.orderingKey,
          // A batch carries one session, so in session mode each session is its own lane.
          lane: sessionId ?? '',
        };
      } catch (error) {
        outcomes[index] = {
          id: message.id,
          ok: false,
          error: new TransportError(`Message ${message.id} cannot be mapped`, {
            cause: error,
            retriable: false,
          }),
        };
        continue;
      }
      const list = byTopic.get(topic);
      if (list) list.push(outgoing);
      else byTopic.set(topic, [outgoing]);
    }
    await Promise.all(
      [...byTopic].map(async ([topic, items]) => {
        try {
          await this.#ensureTopic(topic);
        } catch (error) {
          for (const item of items) outcomes[item.index] = { id: messages[item.index]!.id, ok: false, error };
          return;
        }
        const results = await sendInBatches(this.#sender(topic), items, {
          maxSizeInBytes: this.#options.maxBatchSizeBytes,
          concurrency: this.#options.publishConcurrency,
        });
        for (const item of items) {
          const id = messages[item.index]!.id;
          const error = results.has(item.index)
            ? results.get(item.index)
            : new TransportError('Not attempted', { retriable: true });
          if (error === undefined) {
            outcomes[item.index] = { id, ok: true };
            this.#health.success();
          } else {
            outcomes[item.index] = { id, ok: false, error };
            // A message that can never be sent says nothing about the connection.
            if (isRetriable(error)) this.#health.failure(error);
          }
        }
      }),
    );
    return outcomes;
  }

  async subscribe(subscription: Subscription, handler: DeliveryHandler): Promise<SubscriptionHandle> {
    if (this.#state !== 'started' || !this.#client) {
      throw new TransportError('The Service Bus transport is not started', { retriable: false });
    }
    const options = this.#options;
    const name = checkSubscriptionName(options.subscriptionName(subscription.group));
    const namesByTopic = new Map<string, string[]>();
    for (const eventName of subscription.eventNames) {
      const topic = options.topicOf(eventName);
      const list = namesByTopic.get(topic);
      if (list) list.push(eventName);
      else namesByTopic.set(topic, [eventName]);
    }
    const consumers: Closable[] = [];
    const handle: SubscriptionHandle = {
      close: async () => {
        for (const consumer of consumers) this.#consumers.delete(consumer);
        await Promise.all(consumers.map((consumer) => consumer.close()));
      },
    };
    try {
      for (const [topic, eventNames] of namesByTopic) {
        const topics = this.#groupTopics.get(subscription.group) ?? new Set<string>();
        topics.add(topic);
        this.#groupTopics.set(subscription.group, topics);
        if (this.#provisioner) {
          await this.#ensureTopic(topic);
          await this.#provisioner.ensureSubscription({
            topic,
            subscription: name,
            rules: subscriptionRules(name, eventNames),
            requiresSession: options.sessions,
            lockDurationMs: options.lockDurationMs,
            maxDeliveryCount: options.maxDeliveryCount,
          });
        }
        const deps = {
          client: this.#client,
          topic,
          subscription: name,
          group: subscription.group,
          handler,
          options,
          sender: () => this.#sender(topic),
          health: this.#health,
        };
        const consumer = options.sessions ? new SessionConsumer(deps) : new StreamConsumer(deps);
        consumer.start();
        consumers.push(consumer);
        this.#consumers.add(consumer);
      }
    } catch (error) {
      await handle.close();
      throw error instanceof HeraldError
        ? error
        : new TransportError(`Could not subscribe group "${subscription.group}"`, { cause: error });
    }
    return handle;
  }

  /**
   * Peeks (without locking or removing) the dead-letter sub-queue of the group's
   * subscription on each topic the group uses here (the bus topic, or with per-event
   * topics the topics this transport subscribed the group to).
   */
  async readDeadLetters(group: string, limit: number): Promise<DeadLetter[]> {
    if (this.#state !== 'started' || !this.#client)
      throw new TransportError('The Service Bus transport is not started');
    const subscription = checkSubscriptionName(this.#options.subscriptionName(group));
    const topics = new Set(this.#groupTopics.get(group) ?? []);
    if (this.#options.fixedTopic !== undefined) topics.add(this.#options.fixedTopic);
    return readDeadLetterQueues(this.#client, [...topics], subscription, limit);
  }

  /** Up when the latest send or receive succeeded (the SDK connects lazily and reconnects by itself). */
  async health(): Promise<{ readonly connected: boolean; readonly detail?: string }> {
    if (this.#state !== 'started') return { connected: false, detail: `transport ${this.#state}` };
    const detail = this.#health.detail;
    return detail === undefined
      ? { connected: this.#health.connected }
      : { connected: this.#health.connected, detail };
  }

  async stop(): Promise<void> {
    if (this.#state === 'new' || this.#state === 'stopped') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopping';
    const consumers = [...this.#consumers];
    this.#consumers.clear();
    await Promise.all(consumers.map((consumer) => consumer.close()));
    const senders = [...this.#senders.values()];
    this.#senders.clear();
    await Promise.all(senders.map((sender) => sender.close().catch(() => undefined)));
    if (this.#options.connection.kind !== 'client') await this.#client?.close().catch(() => undefined);
    this.#client = undefined;
    this.#ensuredTopics.clear();
    this.#state = 'stopped';
  }

  #sender(topic: string): ServiceBusSender {
    let sender = this.#senders.get(topic);
    if (!sender) {
      if (!this.#client) throw new TransportError('The Service Bus transport is not started');
      sender = this.#client.createSender(topic);
      this.#senders.set(topic, sender);
    }
    return sender;
  }

  /** Creates the topic once per process when autoCreate is on (concurrent callers share the attempt). */
  #ensureTopic(topic: string): Promise<void> {
    const provisioner = this.#provisioner;
    if (!provisioner) return Promise.resolve();
    let pending = this.#ensuredTopics.get(topic);
    if (!pending) {
      pending = provisioner.ensureTopic(topic).catch((error: unknown) => {
        this.#ensuredTopics.delete(topic);
        throw error;
      });
      this.#ensuredTopics.set(topic, pending);
    }
    return pending;
  }

  /** The session of a message in session mode: its ordering key, or one of `unkeyedSessions` buckets. */
  #sessionOf(message: WireMessage): string | undefined {
    if (!this.#options.sessions) return undefined;
    if (message.orderingKey !== undefined) return fitId(message.orderingKey);
    const bucket = Number.parseInt(fnv1a(message.id), 16) % this.#options.unkeyedSessions;
    return `herald-unkeyed-${bucket}`;
  }

  #administration(): TopologyProvisioner {
    const { connection } = this.#options;
    if (connection.kind === 'connection-string') {
      return administrationProvisioner(new ServiceBusAdministrationClient(connection.connectionString));
    }
    if (connection.kind === 'credential') {
      return administrationProvisioner(
        new ServiceBusAdministrationClient(
          connection.fullyQualifiedNamespace,
          connection.credential as never,
        ),
      );
    }
    // resolveOptions rejects autoCreate with an own client and no provisioner.
    throw new TransportError('autoCreate needs a provisioner', { retriable: false });
  }
}
