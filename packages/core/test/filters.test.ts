import { afterEach, describe, expect, it } from 'vitest';
import {
  ambientContext,
  type BusEventMap,
  type ConsumeFilter,
  defineEvent,
  type Envelope,
  InProcessBroker,
  type IntegrationEventBus,
  memoryEventLog,
  propagateAmbientContext,
} from '../src/index.js';
import { eventually, testBuilder } from './helpers.js';

const OrderPlaced = defineEvent<{ orderId: string }>('ordering.order-placed');

const running: IntegrationEventBus[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((bus) => bus.stop()));
});

async function start(...buses: IntegrationEventBus[]): Promise<void> {
  for (const bus of buses) {
    running.push(bus);
    await bus.start();
  }
}

function record<K extends keyof BusEventMap>(bus: IntegrationEventBus, name: K): BusEventMap[K][] {
  const seen: BusEventMap[K][] = [];
  bus.on(name, (event) => void seen.push(event));
  return seen;
}

describe('publish and consume filters', () => {
  it('run in registration order: publish filters add headers, consume filters wrap the handler', async () => {
    const broker = new InProcessBroker();
    const trail: string[] = [];
    const seen: Envelope[] = [];
    const wrap =
      (name: string): ConsumeFilter =>
      async ({ envelope, handler }, next) => {
        trail.push(`${name}:before:${handler.handlerName}:${envelope.headers['x-first']}`);
        await next();
        trail.push(`${name}:after`);
      };
    const sender = testBuilder('ordering', broker)
      .publishFilter(({ headers, eventName }) => {
        headers['x-first'] = `first-saw-${eventName}`;
      })
      .publishFilter(({ headers }) => {
        headers['x-second'] = `after-${headers['x-first']}`;
      })
      .build();
    const receiver = testBuilder('billing', broker)
      .consumeFilter(wrap('outer'))
      .consumeFilter(wrap('inner'))
      .handle(
        OrderPlaced,
        async (_event, ctx) => {
          trail.push('handler');
          seen.push(ctx.envelope);
        },
        { name: 'bill' },
      )
      .build();
    await start(receiver, sender);
    await sender.publish(new OrderPlaced({ orderId: 'o-1' }));
    await eventually(() => trail.length === 5);
    expect(trail).toEqual([
      'outer:before:bill:first-saw-ordering.order-placed',
      'inner:before:bill:first-saw-ordering.order-placed',
      'handler',
      'inner:after',
      'outer:after',
    ]);
    expect(seen[0]?.headers['x-second']).toBe('after-first-saw-ordering.order-placed');
  });

  it('a throwing publish filter rejects the publish and stores nothing', async () => {
    const log = memoryEventLog();
    const bus = testBuilder('ordering')
      .useEventLog(log)
      .publishFilter(() => {
        throw new Error('no user in context');
      })
      .build();
    await expect(bus.publish(new OrderPlaced({ orderId: 'o-1' }))).rejects.toThrow('no user in context');
    expect(await log.outbox.list({ limit: 10 })).toEqual([]);
  });

  it('a consume filter error follows the handler retry path, then the dead letter with the reason', async () => {
    const broker = new InProcessBroker();
    const attempts: number[] = [];
    let failuresLeft = 1;
    const sender = testBuilder('ordering', broker).build();
    const receiver = testBuilder('billing', broker)
      .consumeFilter(async ({ handler, envelope }, next) => {
        attempts.push(handler.attempt);
        if (envelope.headers['x-always-fail'] === 'yes') throw new Error('filter refused');
        if (failuresLeft-- > 0) throw new Error('filter failed once');
        await next();
      })
      .handle(OrderPlaced, async (event) => void handled.push(event.orderId), { name: 'bill' })
      .build();
    const handled: string[] = [];
    const deadLettered = record(receiver, 'dead-lettered');
    await start(receiver, sender);

    await sender.publish(new OrderPlaced({ orderId: 'retried' }));
    await eventually(() => handled.length === 1);
    expect(attempts).toEqual([1, 2]);

    await sender.publish(new OrderPlaced({ orderId: 'refused' }), { headers: { 'x-always-fail': 'yes' } });
    await eventually(() => deadLettered.length === 1, 5000);
    expect(deadLettered[0]?.reason).toContain('filter refused');
    expect(handled).toEqual(['retried']);
  });

  it('rejects a filter that is not a function at registration', () => {
    expect(() => testBuilder('x').publishFilter(42 as never)).toThrow(/publishFilter/);
    expect(() => testBuilder('x').consumeFilter('no' as never)).toThrow(/consumeFilter/);
  });
});

describe('ambient context', () => {
  it('a publish filter captures it and a consume filter restores it around the handler', async () => {
    const broker = new InProcessBroker();
    const context = propagateAmbientContext(['userId', 'culture']);
    const sender = testBuilder('ordering', broker).publishFilter(context.publish).build();
    const seen: Array<Record<string, string | undefined>> = [];
    const receiver = testBuilder('billing', broker)
      .consumeFilter(context.consume)
      .handle(OrderPlaced, async () => void seen.push({ ...ambientContext.current() }), { name: 'bill' })
      .build();
    await start(receiver, sender);
    await ambientContext.run({ userId: 'u-7', culture: 'de-CH', secretToken: 'not-listed' }, () =>
      sender.publish(new OrderPlaced({ orderId: 'o-1' })),
    );
    await eventually(() => seen.length === 1);
    expect(seen[0]).toMatchObject({ userId: 'u-7', culture: 'de-CH' });
    expect(seen[0]?.secretToken).toBeUndefined(); // only the listed keys travel
    expect(ambientContext.current()).toEqual({}); // nothing leaks out of run()
  });

  it('stamps the publisher’s ambient tenant unless the call gives one; the handler runs in the event’s tenant', async () => {
    const broker = new InProcessBroker();
    const sender = testBuilder('ordering', broker).build();
    const seen: Array<{ envelope?: string; ambient?: string; correlation?: string }> = [];
    const receiver = testBuilder('billing', broker)
      .handle(
        OrderPlaced,
        async (_event, ctx) =>
          void seen.push({
            envelope: ctx.envelope.tenantId,
            ambient: ambientContext.current().tenantId,
            correlation: ambientContext.current().correlationId,
          }),
        { name: 'bill' },
      )
      .build();
    await start(receiver, sender);
    await ambientContext.run({ tenantId: 'acme', correlationId: 'req-1' }, async () => {
      await sender.publish(new OrderPlaced({ orderId: 'ambient' }));
      await sender.publish(new OrderPlaced({ orderId: 'explicit' }), { tenantId: 'globex' });
      await sender.publish(new OrderPlaced({ orderId: 'host' }), { tenantId: undefined });
    });
    await eventually(() => seen.length === 3);
    expect(seen).toEqual(
      expect.arrayContaining([
        { envelope: 'acme', ambient: 'acme', correlation: 'req-1' },
        { envelope: 'globex', ambient: 'globex', correlation: 'req-1' },
        { envelope: undefined, ambient: undefined, correlation: 'req-1' },
      ]),
    );
  });

  it('a handler publishing with bus.publish keeps the tenant of the event it handles', async () => {
    const broker = new InProcessBroker();
    const Invoiced = defineEvent<{ orderId: string }>('billing.invoiced');
    const tenants: Array<string | undefined> = [];
    const bus: IntegrationEventBus = testBuilder('billing', broker)
      .handle(
        OrderPlaced,
        async (event): Promise<void> => bus.publish(new Invoiced({ orderId: event.orderId })),
        {
          name: 'invoice',
        },
      )
      .handle(Invoiced, async (_event, ctx) => void tenants.push(ctx.envelope.tenantId), { name: 'audit' })
      .build();
    await start(bus);
    await bus.publish(new OrderPlaced({ orderId: 'o-1' }), { tenantId: 'acme' });
    await eventually(() => tenants.length === 1);
    expect(tenants).toEqual(['acme']);
  });

  it('refuses non-string values', () => {
    expect(() => ambientContext.run({ tenantId: 7 as never }, () => undefined)).toThrow(TypeError);
  });
});
