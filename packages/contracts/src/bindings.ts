import type { ChannelNaming, ConsumerNaming } from '@herald/core';

/**
 * AsyncAPI protocol bindings for what a transport names, where AsyncAPI has a
 * binding for the protocol (Kafka, AMQP 0-9-1); other protocols keep the
 * names in `x-herald-channel` / `x-herald-consumer` only.
 */
export function channelBindings(
  protocol: string,
  channel: ChannelNaming,
): Record<string, unknown> | undefined {
  if (protocol === 'kafka') return { kafka: { topic: channel.address, bindingVersion: '0.5.0' } };
  if (protocol === 'amqp' && channel.exchange !== undefined) {
    return {
      amqp: {
        is: 'routingKey',
        exchange: { name: channel.exchange, type: 'topic', durable: true, autoDelete: false },
        bindingVersion: '0.3.0',
      },
    };
  }
  return undefined;
}

/** Bindings of a receive operation: the Kafka consumer group id. */
export function receiveBindings(
  protocol: string,
  consumer: ConsumerNaming,
): Record<string, unknown> | undefined {
  if (protocol === 'kafka' && consumer.kind === 'consumer-group') {
    return { kafka: { groupId: { type: 'string', enum: [consumer.name] }, bindingVersion: '0.5.0' } };
  }
  return undefined;
}
