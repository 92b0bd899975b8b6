import { ConfigurationError, TransportError } from '@herald/core';

/** The sidecar's gRPC API did not answer within the start timeout (wrong port, sidecar down). */
export class DaprSidecarUnreachableError extends TransportError {
  /** The sidecar's gRPC address that did not answer, `host:port` (`daprHost:daprGrpcPort`). */
  readonly endpoint: string;

  constructor(endpoint: string, timeoutMs: number, options?: { cause?: unknown }) {
    super(
      `The Dapr sidecar at ${endpoint} did not answer within ${timeoutMs} ms` +
        (options?.cause instanceof Error ? ` (${options.cause.message})` : ''),
      { ...options, retriable: true },
    );
    this.endpoint = endpoint;
  }
}

/** The sidecar refused or failed one published message (the relay retries only those). */
export class DaprPublishError extends TransportError {
  /** The Dapr pub/sub component the message was published through. */
  readonly pubsubName: string;
  /** The topic the message was published to. */
  readonly topic: string;

  constructor(pubsubName: string, topic: string, detail: string, options?: { cause?: unknown }) {
    super(`Dapr could not publish to ${pubsubName}/${topic}: ${detail}`, { ...options, retriable: true });
    this.pubsubName = pubsubName;
    this.topic = topic;
  }
}

/** The sidecar did not accept a streaming subscription (unknown component, sidecar down). */
export class DaprSubscriptionError extends TransportError {
  constructor(pubsubName: string, topic: string, detail: string, options?: { cause?: unknown }) {
    super(`Dapr did not accept the subscription to ${pubsubName}/${topic}: ${detail}`, {
      ...options,
      retriable: true,
    });
  }
}

/**
 * A second consumer group subscribed through the same component. In Dapr the
 * consumer group is the component's `consumerID`, so two groups on one
 * component would silently share messages; map each group to its own
 * component with `groupPubsubFor`.
 */
export class DaprGroupMappingError extends ConfigurationError {
  constructor(pubsubName: string, groups: readonly string[]) {
    super(
      `daprTransport: groups ${groups.map((g) => `"${g}"`).join(' and ')} both subscribe through component ` +
        `"${pubsubName}", whose consumerID is one consumer group; give each group a component of its own ` +
        'with groupPubsubFor',
    );
  }
}
