import { afterEach, describe, expect, it } from 'vitest';
import { Operations } from '../src/index.js';
import { failingService, PaymentRequested } from './helpers.js';

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

describe('Operations', () => {
  it('lists dead inbox entries with their error, re-queues them, and purges', async () => {
    const { bus, gateway, handled } = await failingService();
    stop = () => bus.stop();
    await bus.publish(new PaymentRequested({ orderId: 'o-1', amount: 5 }));
    await bus.drain();
    const operations = new Operations(bus);
    expect(operations.logs()).toEqual([{ name: 'Default', outbox: 'memory', inbox: 'memory' }]);

    const dead = await operations.listInbox({ status: 'dead' });
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      kind: 'inbox',
      eventName: 'billing.payment-requested',
      handler: 'billing.payment-requested',
      attempts: 1,
    });
    expect(dead[0]!.lastError).toContain('payment gateway unreachable');
    expect(dead[0]!.errorHistory.map((entry) => entry.error)).toEqual([dead[0]!.lastError]);
    expect(JSON.parse(dead[0]!.body!)).toEqual({ orderId: 'o-1', amount: 5 });
    expect((await operations.listOutbox({ status: 'published' }))[0]!.id).toBe(dead[0]!.id);

    gateway.up = true;
    expect(await operations.requeueInbox([{ messageId: dead[0]!.id, handler: dead[0]!.handler! }])).toBe(1);
    await bus.drain();
    expect(handled).toEqual(['o-1']);
    expect(await operations.listInbox({ status: 'processed' })).toHaveLength(1);

    expect(await operations.purgeOutbox([dead[0]!.id])).toBe(1);
    expect(await operations.listOutbox()).toHaveLength(0);
    await expect(operations.listOutbox({ log: 'Nope' })).rejects.toThrow(/No event log named/);
  });
});
