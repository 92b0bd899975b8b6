import { ConfigurationError, consoleLogger, type Logger, redactingLogger } from '@herald/core';
import type { GiveBackMode } from './give-back.js';
import { defaultDeadLetterTopicFor, defaultTopicFor } from './topology.js';

/**
 * Options of {@link daprTransport}. The transport talks to one Dapr sidecar
 * (`daprd`) over gRPC; the sidecar's pub/sub components decide the broker.
 */
export interface DaprTransportOptions {
  /** Host of the sidecar's gRPC API. Default `DAPR_HOST` or `127.0.0.1`. */
  daprHost?: string;
  /** Port of the sidecar's gRPC API (`--dapr-grpc-port`). Default `DAPR_GRPC_PORT` or 50001. */
  daprGrpcPort?: number;
  /** Sent as `dapr-api-token` when the sidecar requires one (`DAPR_API_TOKEN`). Never logged. */
  daprApiToken?: string;
  /** The pub/sub component (`metadata.name` of a `pubsub.*` component) events are published to. Required. */
  pubsubName: string;
  /** Component per event name, for events that go elsewhere than `pubsubName`. Default: `pubsubName` for every event. */
  pubsubFor?: (eventName: string) => string;
  /** Prefix of the default topic names. Default `''`. */
  topicPrefix?: string;
  /** Topic per event name. Default `topicPrefix + eventName`. */
  topicFor?: (eventName: string) => string;
  /**
   * The component a consumer group subscribes through. In Dapr the consumer
   * group is the component's `consumerID` (default: the sidecar's app id), so a
   * Herald group needs a component whose `consumerID` is that group (same broker,
   * another `metadata.name`). Default: the event's publish component — then one
   * transport serves one group (the sidecar's app id), and a second group on it
   * is refused with `DaprGroupMappingError`.
   */
  groupPubsubFor?: (group: string, eventName: string) => string;
  /** Dead-letter topic of a group. Default `topicPrefix + 'herald.dead-letters.' + group`. */
  deadLetterTopicFor?: (group: string) => string;
  /**
   * Send a batch through the sidecar's bulk publish API (`BulkPublishEventAlpha1`,
   * one call per component and topic, one outcome per entry). `false`: one
   * `PublishEvent` per message. Default true.
   */
  bulkPublish?: boolean;
  /**
   * Which sidecar API carries bulk publish calls. `'grpc'` (`BulkPublishEventAlpha1`):
   * daprd 1.18 answers a call in which any entry failed with an error and no
   * per-entry outcomes (`pkg/api/grpc/grpc.go`, `bulkPublishEvent`), so every
   * message of the call is reported failed and the relay re-sends the ones
   * that were written too. `'http'` (`POST /v1.0-alpha1/publish/bulk/…` on
   * `daprHttpPort`): daprd lists the failed entries, so only those are
   * reported failed. Default `'grpc'`.
   */
  bulkPublishApi?: 'grpc' | 'http';
  /** Port of the sidecar's HTTP API (`--dapr-http-port`), for `bulkPublishApi: 'http'`. Default `DAPR_HTTP_PORT` or 3500. */
  daprHttpPort?: number;
  /**
   * How the transport subscribes. `'streaming'` (default): client-initiated
   * streaming subscriptions (`SubscribeTopicEventsAlpha1`, Dapr ≥ 1.15), no
   * app port. `'app-callback'`: programmatic subscriptions served by an HTTP
   * server of the transport on 127.0.0.1:`appPort`; start daprd with
   * `--app-port <appPort> --app-protocol http --enable-app-health-check
   * --app-health-probe-interval 1 --app-health-threshold 1` (daprd reads the
   * subscription list when the app turns healthy; a later subscription is made
   * known through one health flap).
   */
  subscription?: 'streaming' | 'app-callback';
  /** Port of the app-callback server (`subscription: 'app-callback'`). Default `APP_PORT`. */
  appPort?: number;
  /** Send the ordering key as the `partitionKey` metadata of each message (Kafka, Event Hubs, …). Default true. */
  partitionKeyMetadata?: boolean;
  /**
   * Declare `orderedByKey`. Only true when the components keep per-key order
   * to one consumer (for example Kafka with `partitionKeyMetadata`); Redis
   * Streams and RabbitMQ through Dapr do not. Default false.
   */
  orderedByKey?: boolean;
  /**
   * Whether the components keep messages across a broker restart (durable
   * queues, Kafka, Redis with persistence) — declared as `persistent`. Default true.
   */
  persistent?: boolean;
  /** How long `start()` waits for the sidecar to answer. Default 10 000 ms. */
  startTimeoutMs?: number;
  /** How long a subscription waits to be accepted by the sidecar. Default 10 000 ms. */
  subscribeTimeoutMs?: number;
  /** Delay before a broken streaming subscription is opened again. Default 500 ms. */
  resubscribeDelayMs?: number;
  /**
   * How an event not finished when its subscription closes (stop during a
   * retry wait, events arriving while the stream ends) goes back to the
   * broker: `'republish'` (left unanswered, published again to its topic once
   * the stream has ended) or `'retry'` (answered `RETRY`, redelivery left to
   * the component). Dapr 1.18's `pubsub.redis` acknowledges a delivery that
   * failed before its `processingTimeout`, and `pubsub.kafka` without
   * `consumeRetryEnabled` commits past it, so `'retry'` loses the message
   * there. Default `'republish'` — which does not keep the key order of the
   * given-back event: with `orderedByKey` on Kafka, choose `'retry'` together
   * with the component's `consumeRetryEnabled: "true"`.
   */
  giveBack?: GiveBackMode;
  /** Logger; wrapped so secrets never reach it. Default: console, warnings and errors. */
  logger?: Logger;
}

/** Options with defaults applied. */
export interface ResolvedDaprOptions {
  readonly daprHost: string;
  readonly daprGrpcPort: number;
  readonly daprApiToken: string | undefined;
  readonly pubsubFor: (eventName: string) => string;
  readonly topicFor: (eventName: string) => string;
  /** A custom `topicFor` was given: a topic may carry several event names (`channelShared`). */
  readonly customTopics: boolean;
  readonly groupPubsubFor: ((group: string, eventName: string) => string) | undefined;
  readonly deadLetterTopicFor: (group: string) => string;
  readonly bulkPublish: boolean;
  readonly subscription: 'streaming' | 'app-callback';
  readonly appPort: number | undefined;
  readonly bulkPublishApi: 'grpc' | 'http';
  readonly daprHttpPort: number;
  readonly partitionKeyMetadata: boolean;
  readonly orderedByKey: boolean;
  readonly persistent: boolean;
  readonly startTimeoutMs: number;
  readonly subscribeTimeoutMs: number;
  readonly resubscribeDelayMs: number;
  readonly giveBack: GiveBackMode;
  readonly logger: Logger;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigurationError(`daprTransport: ${name} must be a positive number (got ${value})`);
  }
  return value;
}

/** Applies defaults and checks the options; throws `ConfigurationError` on a bad value. */
export function resolveOptions(options: DaprTransportOptions): ResolvedDaprOptions {
  if (typeof options?.pubsubName !== 'string' || options.pubsubName.trim() === '') {
    throw new ConfigurationError('daprTransport: pubsubName (the Dapr pub/sub component name) is required');
  }
  const port = tcpPort('daprGrpcPort', options.daprGrpcPort ?? Number(process.env.DAPR_GRPC_PORT ?? 50001));
  const prefix = options.topicPrefix ?? '';
  const pubsubName = options.pubsubName;
  const token = options.daprApiToken ?? process.env.DAPR_API_TOKEN;
  return {
    daprHost: options.daprHost ?? process.env.DAPR_HOST ?? '127.0.0.1',
    daprGrpcPort: port,
    daprApiToken: token,
    pubsubFor: options.pubsubFor ?? (() => pubsubName),
    topicFor: options.topicFor ?? ((eventName) => defaultTopicFor(prefix, eventName)),
    customTopics: options.topicFor !== undefined,
    groupPubsubFor: options.groupPubsubFor,
    deadLetterTopicFor: options.deadLetterTopicFor ?? ((group) => defaultDeadLetterTopicFor(prefix, group)),
    bulkPublish: options.bulkPublish ?? true,
    ...subscriptionMode(options),
    bulkPublishApi: bulkPublishApi(options),
    daprHttpPort: tcpPort('daprHttpPort', options.daprHttpPort ?? Number(process.env.DAPR_HTTP_PORT ?? 3500)),
    partitionKeyMetadata: options.partitionKeyMetadata ?? true,
    orderedByKey: options.orderedByKey ?? false,
    persistent: options.persistent ?? true,
    startTimeoutMs: positive('startTimeoutMs', options.startTimeoutMs ?? 10_000),
    subscribeTimeoutMs: positive('subscribeTimeoutMs', options.subscribeTimeoutMs ?? 10_000),
    resubscribeDelayMs: positive('resubscribeDelayMs', options.resubscribeDelayMs ?? 500),
    giveBack: giveBackMode(options),
    logger: redactingLogger(options.logger ?? consoleLogger('warn'), token ? [token] : []),
  };
}

function giveBackMode(options: DaprTransportOptions): GiveBackMode {
  const mode = options.giveBack ?? 'republish';
  if (mode !== 'republish' && mode !== 'retry') {
    throw new ConfigurationError(
      `daprTransport: giveBack must be 'republish' or 'retry' (got ${String(mode)})`,
    );
  }
  return mode;
}

function tcpPort(name: string, port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new ConfigurationError(`daprTransport: ${name} must be a TCP port (got ${port})`);
  }
  return port;
}

function bulkPublishApi(options: DaprTransportOptions): 'grpc' | 'http' {
  const api = options.bulkPublishApi ?? 'grpc';
  if (api !== 'grpc' && api !== 'http') {
    throw new ConfigurationError(
      `daprTransport: bulkPublishApi must be 'grpc' or 'http' (got ${String(api)})`,
    );
  }
  return api;
}

function subscriptionMode(
  options: DaprTransportOptions,
): Pick<ResolvedDaprOptions, 'subscription' | 'appPort'> {
  const subscription = options.subscription ?? 'streaming';
  if (subscription === 'streaming') return { subscription, appPort: undefined };
  if (subscription !== 'app-callback') {
    throw new ConfigurationError(
      `daprTransport: subscription must be 'streaming' or 'app-callback' (got ${String(subscription)})`,
    );
  }
  const port = options.appPort ?? (process.env.APP_PORT ? Number(process.env.APP_PORT) : Number.NaN);
  return { subscription, appPort: tcpPort('appPort', port) };
}
