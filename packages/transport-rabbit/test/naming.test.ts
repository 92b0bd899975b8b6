import { describe, expect, it } from 'vitest';
import { rabbitMqTransport } from '../src/index.js';

describe('naming (read by contracts)', () => {
  it('gives the routing key on the exchange and the group queue with its dead-letter queue', () => {
    const transport = rabbitMqTransport({ url: 'amqp://127.0.0.1:5672', exchange: 'shop' });
    expect(transport.naming.protocol).toBe('amqp');
    expect(transport.naming.channel('ordering.order-placed')).toEqual({
      address: 'ordering.order-placed',
      exchange: 'shop',
    });
    const queues = transport.topology.queuesOf('billing');
    expect(transport.naming.consumer('billing')).toEqual({
      name: queues.queue,
      kind: 'queue',
      deadLetter: queues.deadLetter,
    });
    expect(queues.queue).toBe('shop.billing');
  });
});
