import { describe, expect, it } from 'vitest';
import {
  createIntegrationEventBus,
  defineEvent,
  InProcessBroker,
  InProcessTransport,
  silentLogger,
} from '../src/index.js';

const OrderPlaced = defineEvent('ordering.order-placed', { version: 2, upcasters: { 1: (p) => p } });
const OrderShipped = defineEvent('shipping.order-shipped');
const StockReserved = defineEvent('catalog.stock-reserved');

describe('event catalog', () => {
  it('lists published and handled events with their handlers and groups, sorted by name', () => {
    const builder = createIntegrationEventBus({ service: 'ordering', logger: silentLogger })
      .publishes(OrderPlaced)
      .handle(StockReserved, () => {}, { name: 'ordering.on-stock' })
      .handle(OrderShipped, () => {}, { name: 'ordering.on-shipped', group: 'shipping' });
    const catalog = builder.catalog();
    expect(catalog.service).toBe('ordering');
    expect(catalog.transport).toBeUndefined();
    expect(catalog.events.map((e) => [e.descriptor.name, e.descriptor.version, e.sent, e.handlers])).toEqual([
      ['catalog.stock-reserved', 1, false, [{ name: 'ordering.on-stock', group: 'ordering' }]],
      ['ordering.order-placed', 2, true, []],
      ['shipping.order-shipped', 1, false, [{ name: 'ordering.on-shipped', group: 'ordering.shipping' }]],
    ]);
  });

  it('the bus adds an event it publishes without a declaration', async () => {
    const transport = new InProcessTransport({ broker: new InProcessBroker() });
    const bus = createIntegrationEventBus({ service: 'shipping', logger: silentLogger })
      .useTransport(transport)
      .build();
    expect(bus.catalog().events).toEqual([]);
    expect(bus.catalog().transport).toBe(transport);
    await bus.start();
    try {
      await bus.publish(new OrderShipped({ orderId: '1' }));
    } finally {
      await bus.stop();
    }
    expect(bus.catalog().events.map((e) => [e.descriptor.name, e.sent])).toEqual([
      ['shipping.order-shipped', true],
    ]);
  });

  it('the in-process transport names channels by event name and queues by group', () => {
    const naming = new InProcessTransport({ broker: new InProcessBroker() }).naming;
    expect(naming.channel('a.b')).toEqual({ address: 'a.b' });
    expect(naming.consumer('svc.g')).toEqual({ name: 'svc.g', kind: 'queue' });
  });
});
