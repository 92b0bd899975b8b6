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

export type { ConsumerMetrics } from './consumer.js';
export { TransportHeaders as RabbitMqHeaders } from './native-mapping.js';
export type { RabbitMqTransportOptions, ResolvedOptions as ResolvedRabbitMqOptions } from './options.js';
export type { PublisherMetrics } from './publisher.js';
export type { GroupQueues, Topology as RabbitMqTopology } from './topology.js';
export { type RabbitMqMetrics, type RabbitMqTransport, rabbitMqTransport } from './transport.js';
