/**
 * `@herald/transport-rabbit`: Herald's transport on RabbitMQ (amqplib).
 *
 * ```ts
 * const bus = createIntegrationEventBus({ service: 'billing' })
 *   .useTransport(rabbitMqTransport({ url: 'amqp://herald:herald@127.0.0.1:5672', exchange: 'shop' }))
 *   .handle(OrderPlaced, async (event) => { … })
 *   .build();
 * ```
 *
 * @packageDocumentation
 */

import type { RabbitMqTransportOptions } from './options.js';
import { RabbitMqTransport } from './rabbitmq-transport.js';

export type { PublisherMetrics } from './confirm-publisher.js';
export type { ConsumerMetrics } from './group-consumer.js';
export type { RabbitMqTransportOptions, ResolvedOptions as ResolvedRabbitMqOptions } from './options.js';
export type { RabbitMqMetrics } from './rabbitmq-transport.js';
export { RabbitMqTransport } from './rabbitmq-transport.js';
export type { GroupQueues } from './topology.js';
export { TransportHeaders as RabbitMqHeaders } from './wire-mapping.js';

/**
 * Creates the RabbitMQ transport; pass it to `builder.useTransport(…)`.
 * Options are validated at once (`ConfigurationError`); nothing connects
 * until the bus starts.
 */
export function rabbitMqTransport(options: RabbitMqTransportOptions): RabbitMqTransport {
  return new RabbitMqTransport(options);
}
