/**
 * `@herald/transport-azure`: Herald's transport on Azure Service Bus.
 *
 * ```ts
 * import { createIntegrationEventBus } from '@herald/core';
 * import { azureServiceBusTransport } from '@herald/transport-azure';
 *
 * const bus = createIntegrationEventBus({ service: 'ordering' })
 *   .useTransport(azureServiceBusTransport({ connectionString: process.env.SERVICEBUS!, autoCreate: true }))
 *   .handle(OrderCreated, async (event) => { ... })
 *   .build();
 * ```
 *
 * @packageDocumentation
 */
import type { Transport } from '@herald/core';
import type { AzureServiceBusTransportOptions } from './options.js';
import { AzureServiceBusTransport } from './service-bus-transport.js';

export type { BatchOptions, Outgoing, SendResults } from './batching.js';
export type { Addressing, Decoded } from './message-mapping.js';
export {
  ATTEMPT_PROPERTY,
  DIAGNOSTIC_ID,
  fromServiceBusMessage,
  toServiceBusMessage,
  UNSET_PROPERTY,
} from './message-mapping.js';
export type {
  AzureServiceBusTransportOptions,
  ClientOptions,
  ConnectionStringOptions,
  CredentialOptions,
} from './options.js';
export { defaultSubscriptionName } from './options.js';
export { AzureServiceBusTransport } from './service-bus-transport.js';
export type { SubscriptionRule, SubscriptionSpec, TopologyProvisioner } from './topology.js';
export {
  administrationProvisioner,
  eventRuleName,
  RETRY_RULE,
  RETRY_SUBJECT,
  serviceBusNaming,
  subscriptionRules,
} from './topology.js';

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
export function azureServiceBusTransport(
  options: AzureServiceBusTransportOptions,
): Transport & AzureServiceBusTransport {
  return new AzureServiceBusTransport(options);
}
