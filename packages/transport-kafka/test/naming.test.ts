import { describe, expect, it } from 'vitest';
import { kafkaTransport } from '../src/index.js';

describe('naming (read by contracts)', () => {
  it('gives the topic the transport publishes to and the group with its dead-letter topic', () => {
    const transport = kafkaTransport({
      brokers: ['127.0.0.1:9092'],
      clientId: 'naming',
      topicPrefix: 'test.',
    });
    expect(transport.naming.protocol).toBe('kafka');
    expect(transport.naming.channel('ordering.order-placed')).toEqual({
      address: 'test.ordering.order-placed',
    });
    expect(transport.naming.channel('orders/placed').address).toBe(
      transport.options.topicFor('orders/placed'),
    );
    expect(transport.naming.consumer('billing')).toEqual({
      name: 'billing',
      kind: 'consumer-group',
      deadLetter: 'test.herald.dlq.billing',
    });
  });

  it('follows a custom topicFor', () => {
    const transport = kafkaTransport({
      brokers: ['127.0.0.1:9092'],
      clientId: 'naming',
      topicFor: () => 'orders',
    });
    expect(transport.naming.channel('ordering.order-placed').address).toBe('orders');
  });
});
