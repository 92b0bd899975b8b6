import {
  BusStateError,
  type DeadLetter,
  type DeliveryHandler,
  describeError,
  type PublishOutcome,
  type Subscription,
  type SubscriptionHandle,
  type Transport,
  type TransportCapabilities,
  type WireMessage,
} from '@herald/core';
import { AppCallbackServer } from './app-callback.js';
import { SidecarConnection } from './connection.js';
import { DaprConsumer } from './consumer.js';
import { DaprDeadLetters } from './dead-letters.js';
import { DaprGroupMappingError } from './errors.js';
import { type EventCallback, EventStream, type GiveBackCallback } from './event-stream.js';
import { DaprGiveBack } from './give-back.js';
import { type DaprTransportOptions, type ResolvedDaprOptions, resolveOptions } from './options.js';
import { DaprPublisher } from './publisher.js';
import { subscriptionTargets } from './topology.js';

/**
 * A Herald {@link Transport} on a Dapr sidecar's pub/sub building block.
 * Publishes CloudEvents (bulk where possible), subscribes through streaming
 * subscriptions, and keeps dead letters on a dead-letter topic per group.
 */
export interface DaprTransport extends Transport {
  readonly name: 'dapr';
  /** `sidecar` is `host:grpcPort` of the sidecar this transport talks to. */
  readonly sidecar: string;
  /** Reads the dead letters of a group from its dead-letter topic (see the README for what reading consumes). */
  readDeadLetters(group: string, limit: number): Promise<DeadLetter[]>;
  health(): Promise<{
    /** True when the transport is started and the sidecar answers its gRPC ping. */
    readonly connected: boolean;
    /** Why not connected: the transport's state, or the sidecar address that does not answer. */
    readonly detail?: string;
  }>;
}

/**
 * Creates a Dapr transport. Options are checked at once (`ConfigurationError`);
 * nothing connects until `start()` (called by `bus.start()`).
 *
 * ```ts
 * const bus = createIntegrationEventBus({ service: 'billing' })
 *   .useTransport(daprTransport({ pubsubName: 'pubsub' }))
 *   .handle(OrderPlaced, async (event) => { … })
 *   .build();
 * ```
 */
export function daprTransport(options: DaprTransportOptions): DaprTransport {
  return new DaprSidecarTransport(resolveOptions(options));
}

class DaprSidecarTransport implements DaprTransport {
  readonly name = 'dapr' as const;
  readonly capabilities: TransportCapabilities;
  readonly sidecar: string;
  private readonly connection: SidecarConnection;
  private readonly publisher: DaprPublisher;
  /** Why the last publish failed as a whole for the broker's sake (cleared by a publish that goes through). */
  private brokerTrouble: string | undefined;
  private readonly deadLetters: DaprDeadLetters;
  private readonly giveBack: DaprGiveBack;
  /** The app-callback server (`subscription: 'app-callback'`), listening from `start()`. */
  private readonly appServer: AppCallbackServer | undefined;
  private readonly handles = new Set<SubscriptionHandle>();
  /** Component → the one group subscribing through it (default group mapping only). */
  private readonly groupOfComponent = new Map<string, string>();
  private state: 'new' | 'started' | 'stopped' = 'new';

  constructor(private readonly options: ResolvedDaprOptions) {
    this.connection = new SidecarConnection(options);
    this.sidecar = this.connection.endpoint;
    this.publisher = new DaprPublisher(this.connection, options);
    this.deadLetters = new DaprDeadLetters(this.connection, options);
    this.giveBack = new DaprGiveBack(this.connection);
    this.appServer =
      options.subscription === 'app-callback'
        ? new AppCallbackServer({ ...options, appPort: options.appPort! })
        : undefined;
    this.capabilities = {
      orderedByKey: options.orderedByKey,
      persistent: options.persistent,
      deadLetter: true,
      batchPublish: options.bulkPublish,
      // Held in this process for the delay, unanswered, so the broker still has it.
      delayedRedelivery: true,
      // The component's consumerID is the group: members share, other groups get their own copy.
      consumerGroups: true,
    };
  }

  async start(): Promise<void> {
    if (this.state === 'started') return;
    if (this.state === 'stopped')
      throw new BusStateError('daprTransport: a stopped transport cannot start again');
    // The app port first: a sidecar with --app-port waits for it before it reads subscriptions.
    await this.appServer?.listen();
    try {
      await this.connection.connect();
    } catch (error) {
      await this.appServer?.close();
      throw error;
    }
    this.state = 'started';
  }

  async publish(messages: readonly WireMessage[]): Promise<PublishOutcome[]> {
    this.assertStarted();
    const outcomes = await this.publisher.publish(messages);
    this.brokerTrouble = brokerTroubleOf(outcomes, this.brokerTrouble);
    return outcomes;
  }

  async subscribe(subscription: Subscription, handler: DeliveryHandler): Promise<SubscriptionHandle> {
    this.assertStarted();
    const { group } = subscription;
    const componentOf = (eventName: string) => this.componentFor(group, eventName);
    const targets = subscriptionTargets(subscription.eventNames, componentOf, this.options.topicFor);
    const opened: { stream: { close(): Promise<void> }; consumer: DaprConsumer }[] = [];
    const closeAll = async () => {
      await Promise.allSettled(
        opened.map(async ({ stream, consumer }) => {
          const closing = stream.close();
          consumer.wakeAll();
          await closing;
        }),
      );
    };
    try {
      for (const target of targets) {
        const consumer = new DaprConsumer(
          {
            group,
            pubsubName: target.pubsubName,
            topic: target.topic,
            channelShared: this.options.customTopics,
          },
          handler,
          this.deadLetters,
          this.options.giveBack,
          this.options.logger,
        );
        const onEvent: EventCallback = (event, streamState) => consumer.onEvent(event, streamState);
        const giveBack: GiveBackCallback | undefined =
          this.options.giveBack === 'republish'
            ? (events) => this.giveBack.republishAll(target, events)
            : undefined;
        const stream = this.appServer
          ? this.appServer.subscription(target, onEvent, giveBack)
          : new EventStream(this.connection, target, onEvent, this.options, giveBack);
        await stream.open();
        opened.push({ stream, consumer });
      }
      // Read the group's dead-letter topic from now on, so it exists before the first letter.
      if (targets.length > 0) await this.deadLetters.ensureReader(group, targets[0]!.pubsubName);
    } catch (error) {
      await closeAll();
      throw error;
    }
    const handle: SubscriptionHandle = {
      close: async () => {
        this.handles.delete(handle);
        await closeAll();
      },
    };
    this.handles.add(handle);
    return handle;
  }

  readDeadLetters(group: string, limit: number): Promise<DeadLetter[]> {
    this.assertStarted();
    // Dead letters of a group live on one topic, read through the group's component (any event name maps the same).
    return this.deadLetters.read(group, this.componentFor(group, ''), limit);
  }

  async health(): Promise<{ readonly connected: boolean; readonly detail?: string }> {
    if (this.state !== 'started') return { connected: false, detail: `transport ${this.state}` };
    const connected = await this.connection.ping();
    if (!connected) return { connected, detail: `Dapr sidecar at ${this.sidecar} does not answer` };
    // The sidecar answers, but a ping says nothing of the broker behind it: its last refusal does.
    if (this.brokerTrouble)
      return {
        connected: false,
        detail: `the pub/sub component behind the sidecar cannot reach its broker: ${this.brokerTrouble}`,
      };
    return { connected };
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    await Promise.allSettled([...this.handles].map((handle) => handle.close()));
    await this.deadLetters.close();
    await this.appServer?.close();
    await this.connection.close();
  }

  /** The component a group reads an event through, refusing two groups on one component by default. */
  private componentFor(group: string, eventName: string): string {
    if (this.options.groupPubsubFor) return this.options.groupPubsubFor(group, eventName);
    const component = this.options.pubsubFor(eventName);
    const owner = this.groupOfComponent.get(component);
    if (owner !== undefined && owner !== group) throw new DaprGroupMappingError(component, [owner, group]);
    this.groupOfComponent.set(component, group);
    return component;
  }

  private assertStarted(): void {
    if (this.state !== 'started') {
      throw new BusStateError(`daprTransport: ${this.state === 'new' ? 'call start() first' : 'stopped'}`);
    }
  }
}

/**
 * What daprd says when the component cannot reach its broker (Redis, RabbitMQ, Kafka clients'
 * connection errors, passed through as text). Only these count: a message the broker refuses
 * (too large, bad metadata) is that message's failure, not an outage.
 */
const BROKER_UNREACHABLE =
  /connection refused|connection reset|broken pipe|i\/o timeout|no such host|network is unreachable|dial tcp|\bEOF\b|connection is closed|not connected/i;

/**
 * The broker trouble after a publish: set when every message failed with a connectivity error
 * from the component, cleared when any message went through, unchanged otherwise.
 */
function brokerTroubleOf(
  outcomes: readonly PublishOutcome[],
  previous: string | undefined,
): string | undefined {
  if (outcomes.some((outcome) => outcome.ok)) return undefined;
  const failures = outcomes.filter((outcome) => !outcome.ok).map((outcome) => describeError(outcome.error));
  if (failures.length > 0 && failures.every((text) => BROKER_UNREACHABLE.test(text))) return failures[0];
  return previous;
}
