import type { NamedKeyCredential, SASCredential, TokenCredential } from '@azure/core-auth';
import type { RetryOptions, ServiceBusClient, WebSocketOptions } from '@azure/service-bus';
import {
  ConfigurationError,
  type Logger,
  parseConnectionUrl,
  redactingLogger,
  silentLogger,
} from '@herald/core';
import type { TopologyProvisioner } from './topology.js';

interface CommonOptions {
  /**
   * Topic the events are published to: one name for the whole bus (default `herald`),
   * or a function giving each event name its topic (a topic per event). Topic names:
   * letters, digits, `.`, `-`, `_`, `/`, at most 260 characters.
   */
  topic?: string | ((eventName: string) => string);
  /**
   * Subscription name of a consumer group (`service` or `service.group`). Default: the
   * group with characters Service Bus does not allow replaced by `-`, and names longer
   * than 50 characters shortened with a hash suffix.
   */
  subscriptionName?: (group: string) => string;
  /**
   * Session-enabled subscriptions: each message's session is its ordering key, so messages
   * of one key are handled in publish order, one at a time (`capabilities.orderedByKey`).
   * Messages without a key are spread over `unkeyedSessions` sessions. Default `false`.
   * Subscriptions must be created session-enabled (autoCreate does so).
   */
  sessions?: boolean;
  /**
   * Creates missing topics, subscriptions and rules: through `provisioner` when given,
   * otherwise through the HTTPS administration client (`ServiceBusAdministrationClient`;
   * needs Manage rights). Default: `true` when a `provisioner` is given, else `false`.
   */
  autoCreate?: boolean;
  /** How entities are created when `autoCreate` is on (tests use this to configure a test peer). */
  provisioner?: TopologyProvisioner;
  /** Peek-lock duration of subscriptions created by autoCreate. Default 60 s. */
  lockDurationMs?: number;
  /**
   * Max delivery count of subscriptions created by autoCreate (Service Bus dead-letters
   * after it); with sessions, a retry holds its session only below this count. Default 10.
   */
  maxDeliveryCount?: number;
  /**
   * Messages handed to core at once per subscription (non-session mode); also
   * the receiver's link credit, so it bounds what a crash hands back to the
   * broker. Core handles the deliveries that are ready together in one inbox
   * transaction, so this feeds its batches. Default 128.
   */
  maxConcurrentCalls?: number;
  /** Sessions handled at once per subscription (session mode). Default 8. */
  maxConcurrentSessions?: number;
  /** A session receiver is released after this long without messages. Default 1 s. */
  sessionIdleTimeoutMs?: number;
  /** Pause before asking for the next session again when none was available or accepting failed. Default 1 s. */
  sessionRetryDelayMs?: number;
  /** Sessions that share the messages without an ordering key (session mode). Default 16. */
  unkeyedSessions?: number;
  /**
   * Session mode: a `retry` of up to this delay keeps the message's session locked and
   * redelivers the message first (its key's order holds); longer delays re-send a scheduled
   * copy to the end of the session. Default 60 s.
   */
  maxSessionHoldMs?: number;
  /** Locks of messages (and sessions) are renewed for up to this long while a handler runs. Default 5 min. */
  maxAutoLockRenewalDurationMs?: number;
  /** Upper bound of one send batch in bytes (default: the link's maximum message size). */
  maxBatchSizeBytes?: number;
  /** Batches sent at once by one `publish` (different sessions in session mode). Default 4. */
  publishConcurrency?: number;
  /** SDK retry policy (connection, links, sends, settlements). Default: the SDK's. */
  retryOptions?: RetryOptions;
  /** AMQP over WebSockets (port 443), for networks that block 5671. */
  webSocketOptions?: WebSocketOptions;
  /** Receive-side trouble (lost locks, reconnects, settlement failures). Default: silent. */
  logger?: Logger;
}

/** Connect with a connection string (`Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…`). */
export interface ConnectionStringOptions extends CommonOptions {
  /** The namespace's connection string; it holds the SAS key, which is redacted from every error and log line. */
  connectionString: string;
}

/** Connect with a namespace host name and a credential (e.g. `DefaultAzureCredential` from `@azure/identity`). */
export interface CredentialOptions extends CommonOptions {
  /** `<namespace>.servicebus.windows.net` */
  fullyQualifiedNamespace: string;
  /** Microsoft Entra ID token credential, or a named key / SAS credential of the namespace. */
  credential: TokenCredential | NamedKeyCredential | SASCredential;
}

/** Use a client the application owns (the transport does not close it). */
export interface ClientOptions extends CommonOptions {
  /** The application's `ServiceBusClient`; `stop()` closes the transport's senders and receivers, not the client. */
  client: ServiceBusClient;
}

/** Options of {@link azureServiceBusTransport}. */
export type AzureServiceBusTransportOptions = ConnectionStringOptions | CredentialOptions | ClientOptions;

/** How the transport reaches the namespace. */
export type Connection =
  | { readonly kind: 'connection-string'; readonly connectionString: string }
  | {
      readonly kind: 'credential';
      readonly fullyQualifiedNamespace: string;
      readonly credential: TokenCredential | NamedKeyCredential | SASCredential;
    }
  | { readonly kind: 'client'; readonly client: ServiceBusClient };

/** Options with every default applied. */
export interface ResolvedOptions {
  readonly connection: Connection;
  readonly topicOf: (eventName: string) => string;
  /** The single topic, when the bus uses one. */
  readonly fixedTopic: string | undefined;
  readonly subscriptionName: (group: string) => string;
  readonly sessions: boolean;
  readonly autoCreate: boolean;
  readonly provisioner: TopologyProvisioner | undefined;
  readonly lockDurationMs: number;
  readonly maxDeliveryCount: number;
  readonly maxConcurrentCalls: number;
  readonly maxConcurrentSessions: number;
  readonly sessionIdleTimeoutMs: number;
  readonly sessionRetryDelayMs: number;
  readonly unkeyedSessions: number;
  readonly maxSessionHoldMs: number;
  readonly maxAutoLockRenewalDurationMs: number;
  readonly maxBatchSizeBytes: number | undefined;
  readonly publishConcurrency: number;
  readonly retryOptions: RetryOptions | undefined;
  readonly webSocketOptions: WebSocketOptions | undefined;
  /** The operator's logger, wrapped so the connection string's key never reaches it. */
  readonly logger: Logger;
  /** The connection string's `SharedAccessKey` / `SharedAccessSignature`: redacted from every error. */
  readonly secrets: readonly string[];
}

const NAME = 'azureServiceBusTransport';
const TOPIC_NAME = /^[A-Za-z0-9][A-Za-z0-9._\-/]{0,259}$/;

const integer = (name: string, value: number, min: number): number => {
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigurationError(`${NAME}: "${name}" must be an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
};

const duration = (name: string, value: number, min = 0): number => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new ConfigurationError(
      `${NAME}: "${name}" must be a duration in milliseconds ≥ ${min}, got ${String(value)}`,
    );
  }
  return value;
};

/** Checks a topic name; a bad one is a `ConfigurationError`. */
export function checkTopicName(topic: string): string {
  if (typeof topic !== 'string' || !TOPIC_NAME.test(topic)) {
    throw new ConfigurationError(
      `${NAME}: topic "${String(topic)}" is not a valid Service Bus topic name (letters, digits, . - _ /, at most 260 characters)`,
    );
  }
  return topic;
}

function connectionOf(options: AzureServiceBusTransportOptions): Connection {
  if ('client' in options && options.client) return { kind: 'client', client: options.client };
  if ('connectionString' in options && typeof options.connectionString === 'string') {
    const endpoint = /(?:^|;)\s*Endpoint=([^;]*)/i.exec(options.connectionString)?.[1];
    if (!endpoint || !/^sb:\/\//i.test(endpoint)) {
      throw new ConfigurationError(`${NAME}: "connectionString" must contain Endpoint=sb://…`);
    }
    // Up front, so a typo is a configuration error naming the problem, never the key.
    parseConnectionUrl(endpoint, { name: `${NAME}: the connectionString's Endpoint`, protocols: ['sb'] });
    return { kind: 'connection-string', connectionString: options.connectionString };
  }
  if ('fullyQualifiedNamespace' in options && typeof options.fullyQualifiedNamespace === 'string') {
    if (!options.credential)
      throw new ConfigurationError(`${NAME}: "fullyQualifiedNamespace" needs a "credential"`);
    return {
      kind: 'credential',
      fullyQualifiedNamespace: options.fullyQualifiedNamespace,
      credential: options.credential,
    };
  }
  throw new ConfigurationError(
    `${NAME}() needs { connectionString }, { fullyQualifiedNamespace, credential } or { client }`,
  );
}

/** Validates the options and fills in defaults; bad values throw `ConfigurationError`. */
export function resolveOptions(options: AzureServiceBusTransportOptions): ResolvedOptions {
  if (!options || typeof options !== 'object') throw new ConfigurationError(`${NAME}() needs options`);
  const connection = connectionOf(options);
  const topic = options.topic ?? 'herald';
  let topicOf: (eventName: string) => string;
  let fixedTopic: string | undefined;
  if (typeof topic === 'string') {
    fixedTopic = checkTopicName(topic);
    topicOf = () => fixedTopic!;
  } else if (typeof topic === 'function') {
    topicOf = (eventName) => checkTopicName(topic(eventName));
  } else {
    throw new ConfigurationError(`${NAME}: "topic" must be a string or a function of the event name`);
  }
  if (options.maxBatchSizeBytes !== undefined) integer('maxBatchSizeBytes', options.maxBatchSizeBytes, 1024);
  const autoCreate = options.autoCreate ?? options.provisioner !== undefined;
  if (autoCreate && connection.kind === 'client' && !options.provisioner) {
    throw new ConfigurationError(
      `${NAME}: autoCreate with your own client needs a "provisioner", e.g. administrationProvisioner(new ServiceBusAdministrationClient(...))`,
    );
  }
  return {
    connection,
    topicOf,
    fixedTopic,
    subscriptionName: options.subscriptionName ?? defaultSubscriptionName,
    sessions: options.sessions ?? false,
    autoCreate,
    provisioner: options.provisioner,
    lockDurationMs: duration('lockDurationMs', options.lockDurationMs ?? 60_000, 5_000),
    maxDeliveryCount: integer('maxDeliveryCount', options.maxDeliveryCount ?? 10, 1),
    maxConcurrentCalls: integer('maxConcurrentCalls', options.maxConcurrentCalls ?? 128, 1),
    maxConcurrentSessions: integer('maxConcurrentSessions', options.maxConcurrentSessions ?? 8, 1),
    sessionIdleTimeoutMs: duration('sessionIdleTimeoutMs', options.sessionIdleTimeoutMs ?? 1_000, 10),
    sessionRetryDelayMs: duration('sessionRetryDelayMs', options.sessionRetryDelayMs ?? 1_000, 10),
    unkeyedSessions: integer('unkeyedSessions', options.unkeyedSessions ?? 16, 1),
    maxSessionHoldMs: duration('maxSessionHoldMs', options.maxSessionHoldMs ?? 60_000),
    maxAutoLockRenewalDurationMs: duration(
      'maxAutoLockRenewalDurationMs',
      options.maxAutoLockRenewalDurationMs ?? 300_000,
    ),
    maxBatchSizeBytes: options.maxBatchSizeBytes,
    publishConcurrency: integer('publishConcurrency', options.publishConcurrency ?? 4, 1),
    retryOptions: options.retryOptions,
    webSocketOptions: options.webSocketOptions,
    logger: redactingLogger(options.logger ?? silentLogger, secretsOf(connection)),
    secrets: secretsOf(connection),
  };
}

/** The key material of a connection string, for literal redaction. */
function secretsOf(connection: Connection): string[] {
  if (connection.kind !== 'connection-string') return [];
  const secrets: string[] = [];
  for (const part of connection.connectionString.split(';')) {
    const match = /^\s*(SharedAccessKey|SharedAccessSignature)=(.+)$/i.exec(part);
    if (match?.[2]) secrets.push(match[2].trim());
  }
  return secrets;
}

const SUBSCRIPTION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$/;

/** Checks a subscription name; a bad one is a `ConfigurationError`. */
export function checkSubscriptionName(name: string): string {
  if (typeof name !== 'string' || !SUBSCRIPTION_NAME.test(name)) {
    throw new ConfigurationError(
      `${NAME}: subscription "${String(name)}" is not a valid Service Bus subscription name (letters, digits, . - _, at most 50 characters)`,
    );
  }
  return name;
}

/** The default group → subscription mapping: valid characters only, at most 50 of them, stable. */
export function defaultSubscriptionName(group: string): string {
  return shortName(group, 50);
}

/** Replaces characters Service Bus entity names do not allow and shortens with a hash suffix. */
export function shortName(value: string, max: number): string {
  let name = value.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  if (name.length === 0) name = 'x';
  if (name.length <= max && name === value) return name;
  const suffix = fnv1a(value);
  return `${name.slice(0, max - suffix.length - 1)}-${suffix}`;
}

/** 32-bit FNV-1a as 8 hex digits: a short, stable suffix for shortened names. */
export function fnv1a(value: string): string {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(value, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
