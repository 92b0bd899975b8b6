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

export type { Addressing, Decoded } from './native-mapping.js';
export {
  ATTEMPT_PROPERTY,
  DIAGNOSTIC_ID,
  fromServiceBusMessage,
  toServiceBusMessage,
  UNSET_PROPERTY,
} from './native-mapping.js';
export type {
  AzureServiceBusTransportOptions,
  ClientOptions,
  ConnectionStringOptions,
  CredentialOptions,
} from './options.js';
export { defaultSubscriptionName } from './options.js';
export type { BatchOptions, Outgoing, SendResults } from './publisher.js';
export type { SubscriptionRule, SubscriptionSpec, TopologyProvisioner } from './topology.js';
export {
  administrationProvisioner,
  eventRuleName,
  RETRY_RULE,
  RETRY_SUBJECT,
  serviceBusNaming,
  subscriptionRules,
} from './topology.js';
export { type AzureServiceBusTransport, azureServiceBusTransport } from './transport.js';
