import { afterEach, describe, expect, it } from 'vitest';
import {
  ambientContext,
  ConfigurationError,
  createIntegrationEventBus,
  defineEvent,
  InProcessBroker,
  InProcessTransport,
  type IntegrationEventBus,
  isMemoryTransaction,
  MemoryDatabase,
  memoryEventLog,
  type PublishOutcome,
  silentLogger,
  WireHeaders,
  type WireMessage,
} from '../src/index.js';
import { eventually, fastOptions, testBuilder } from './helpers.js';

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

/** Records the tenant of every message it sends, in send order. */
class TenantRecordingTransport extends InProcessTransport {
  readonly tenants: Array<string | undefined> = [];
  override async publish(messages: readonly WireMessage[]): Promise<PublishOutcome[]> {
    for (const message of messages) this.tenants.push(message.headers[WireHeaders.tenantId]);
    return super.publish(messages);
  }
}

describe('database per tenant', () => {
  it('routes each tenant’s events to its own outbox and its handlings to its own inbox', async () => {
    const broker = new InProcessBroker();
    const logs = {
      acme: memoryEventLog({ database: new MemoryDatabase('acme') }),
      globex: memoryEventLog({ database: new MemoryDatabase('globex') }),
      host: memoryEventLog({ database: new MemoryDatabase('host') }),
    };
    const sender = testBuilder('ordering', broker)
      .useEventLog({ outbox: logs.host.outbox }) // listed first: tenant logs still take their tenants
      .useEventLog({ outbox: logs.acme.outbox }, { name: 'acme', tenants: ['acme'] })
      .useEventLog({ outbox: logs.globex.outbox }, { name: 'globex', tenants: ['globex'] })
      .build();
    const handledIn: string[] = [];
    const receiver = testBuilder('billing', broker)
      .useEventLog({ inbox: logs.acme.inbox }, { name: 'acme', tenants: ['acme'] })
      .useEventLog({ inbox: logs.globex.inbox }, { name: 'globex', tenants: ['globex'] })
      .useEventLog({ inbox: logs.host.inbox })
      .handle(
        OrderPlaced,
        async (event, ctx) => {
          const database = isMemoryTransaction(ctx.tx) ? ctx.tx.database.name : 'none';
          handledIn.push(`${event.orderId}@${database}:${ambientContext.current().tenantId ?? 'host'}`);
        },
        { name: 'bill' },
      )
      .build();
    await start(receiver, sender);

    await ambientContext.run({ tenantId: 'acme' }, () => sender.publish(new OrderPlaced({ orderId: 'a1' })));
    await ambientContext.run({ tenantId: 'globex' }, () =>
      sender.publish(new OrderPlaced({ orderId: 'g1' })),
    );
    await sender.publish(new OrderPlaced({ orderId: 'h1' }));
    await sender.publish(new OrderPlaced({ orderId: 'u1' }), { tenantId: 'unlisted' }); // no own log: the host's

    await eventually(() => handledIn.length === 4);
    expect(handledIn.sort()).toEqual([
      'a1@acme:acme',
      'g1@globex:globex',
      'h1@host:host',
      'u1@host:unlisted',
    ]);
    const names = async (log: {
      outbox: { list: (q: { limit: number }) => Promise<Array<{ message: WireMessage }>> };
    }) =>
      (await log.outbox.list({ limit: 10 })).map((r) => r.message.headers[WireHeaders.tenantId] ?? 'host');
    expect(await names(logs.acme)).toEqual(['acme']);
    expect(await names(logs.globex)).toEqual(['globex']);
    expect(await names(logs.host)).toEqual(['host', 'unlisted']);
    expect((await logs.acme.inbox.list({ limit: 10 })).map((e) => e.handler)).toEqual(['bill']);
  });

  it('dead-letters, with the reason, an event of a tenant no inbox serves', async () => {
    const broker = new InProcessBroker();
    const sender = testBuilder('ordering', broker).build();
    const handled: string[] = [];
    const receiver = testBuilder('billing', broker)
      .useEventLog({ inbox: memoryEventLog().inbox }, { tenants: ['acme'] })
      .handle(OrderPlaced, async (event) => void handled.push(event.orderId), { name: 'bill' })
      .build();
    const deadLettered: string[] = [];
    receiver.on('dead-lettered', (event) => void deadLettered.push(event.reason));
    await start(receiver, sender);
    await sender.publish(new OrderPlaced({ orderId: 'stranger' }), { tenantId: 'globex' });
    await sender.publish(new OrderPlaced({ orderId: 'served' }), { tenantId: 'acme' });
    await eventually(() => deadLettered.length === 1 && handled.length === 1);
    expect(deadLettered[0]).toMatch(/No inbox accepts handler "bill" for tenant "globex"/);
    expect(handled).toEqual(['served']);
  });

  it('refuses an empty or malformed tenant list', () => {
    expect(() => testBuilder('x').useEventLog(memoryEventLog(), { tenants: [] }).build()).toThrow(
      ConfigurationError,
    );
    expect(() =>
      testBuilder('x')
        .useEventLog(memoryEventLog(), { tenants: [''] })
        .build(),
    ).toThrow(/tenants/);
  });

  it('one busy tenant does not starve another: 10 events behind 10 000 are sent in the first rounds', async () => {
    const transport = new TenantRecordingTransport({ broker: new InProcessBroker() });
    const sender = createIntegrationEventBus({ service: 'ordering', logger: silentLogger })
      .useTransport(transport)
      .configure(fastOptions)
      .useEventLog(memoryEventLog(), { name: 'big', tenants: ['big'] })
      .useEventLog(memoryEventLog(), { name: 'small', tenants: ['small'] })
      .build();
    // Stored before the relays start: the busy tenant's backlog is all there first.
    for (let chunk = 0; chunk < 10; chunk++) {
      const events = Array.from(
        { length: 1000 },
        (_, i) => new OrderPlaced({ orderId: `big-${chunk}-${i}` }),
      );
      await sender.publish(events, { tenantId: 'big' });
    }
    await sender.publish(
      Array.from({ length: 10 }, (_, i) => new OrderPlaced({ orderId: `small-${i}` })),
      { tenantId: 'small' },
    );
    await start(sender);
    await sender.drain({ timeoutMs: 30_000 });
    expect(transport.tenants).toHaveLength(10_010);
    const lastSmall = transport.tenants.lastIndexOf('small');
    // One shared FIFO would send the small tenant's events last (index 10 009); each tenant log has its
    // own relay, so they go out with the first claims (batchSize 1000 per claim).
    expect(lastSmall).toBeLessThan(2 * 1000 + 10);
  });
});
