export { DeadLetterHeaders } from './dead-letters.js';
export { KafkaBrokerUnreachableError, KafkaTopicMissingError } from './errors.js';
export type {
  KafkaConsumerOptions,
  KafkaProducerOptions,
  KafkaTopicOptions,
  KafkaTransportOptions,
  ResolvedKafkaOptions,
} from './options.js';
export { defaultDeadLetterTopicFor, defaultTopicFor, kafkaNaming, kafkaTopicName } from './topology.js';
export { type KafkaTransport, kafkaTransport } from './transport.js';
