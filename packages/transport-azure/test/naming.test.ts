import { describe, expect, it } from 'vitest';
import { azureServiceBusTransport, defaultSubscriptionName } from '../src/index.js';

const connectionString = 'Endpoint=sb://127.0.0.1/;SharedAccessKeyName=k;SharedAccessKey=naming-test-key';

describe('naming (read by contracts)', () => {
  it('gives the bus topic with the event name as subject, and the group subscription', () => {
    const transport = azureServiceBusTransport({ connectionString, topic: 'shop' });
    expect(transport.naming?.protocol).toBe('amqp1');
    expect(transport.naming?.channel('ordering.order-placed')).toEqual({
      address: 'shop',
      subject: 'ordering.order-placed',
    });
    expect(transport.naming?.consumer('billing')).toEqual({
      name: defaultSubscriptionName('billing'),
      kind: 'subscription',
      deadLetter: `${defaultSubscriptionName('billing')}/$DeadLetterQueue`,
    });
  });

  it('follows a topic per event', () => {
    const transport = azureServiceBusTransport({ connectionString, topic: (name) => `t-${name}` });
    expect(transport.naming?.channel('a.b').address).toBe('t-a.b');
  });
});
