import { KafkaTransport } from './kafka-transport.js';
import { type KafkaTransportOptions, resolveOptions } from './options.js';

export { DeadLetterHeaders } from './dead-letters.js';
export { KafkaBrokerUnreachableError, KafkaTopicMissingError } from './errors.js';
export { KafkaTransport } from './kafka-transport.js';
export type {
  KafkaConsumerOptions,
  KafkaProducerOptions,
  KafkaTopicOptions,
  KafkaTransportOptions,
  ResolvedKafkaOptions,
} from './options.js';
export { defaultDeadLetterTopicFor, defaultTopicFor, kafkaNaming, kafkaTopicName } from './topic-names.js';

/**
 * A Herald `Transport` on Apache Kafka (kafkajs). Pass it to the
 * builder, the one plugin mechanism of Herald:
 *
 * ```ts
 * const bus = createIntegrationEventBus({ service: 'billing' })
 *   .useTransport(kafkaTransport({ brokers: ['127.0.0.1:9092'], clientId: 'billing' }))
 *   .handle(OrderPlaced, async (event) => { … })
 *   .build();
 * ```
 *
 * Options are checked at once (`ConfigurationError`); nothing connects until
 * `bus.start()` calls `transport.start()`.
 */
export function kafkaTransport(options: KafkaTransportOptions): KafkaTransport {
  return new KafkaTransport(resolveOptions(options));
}
