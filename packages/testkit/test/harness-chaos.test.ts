import { createIntegrationEventBus, type MemoryTransaction, silentLogger } from '@herald/core';
import { afterEach, describe, expect, it } from 'vitest';
import { ChaosError, type ChaosOptions, createTestHarness, type TestHarness } from '../src/index.js';

class PaymentRequested {
  static readonly eventName = 'payments.payment-requested';
  constructor(
    readonly paymentId: string,
    readonly customer: string,
    readonly amount: number,
  ) {}
}

const COUNT = 24;
const ALL_FAULTS: ChaosOptions = {
  duplicateDeliveries: true,
  reorderKeys: true,
  crashBetweenPublishAndMark: true,
  crashAfterHandler: true,
  seed: 7,
};

/** Records whose mark "crashed" are re-sent when their lease ends: keep it short so the tests stay fast. */
const FAST_LEASES = { minimumRetryInterval: 150 };

let harness: TestHarness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

/** Publishes COUNT payments over four customers (the ordering key) in one transaction: one relay batch. */
async function publishPayments(h: TestHarness): Promise<PaymentRequested[]> {
  const payments = Array.from({ length: COUNT }, (_, i) => new PaymentRequested(`p-${i}`, `c-${i % 4}`, i));
  await h.database().transaction(async (tx) => {
    for (const payment of payments) await h.bus.publish(payment, { tx, orderingKey: payment.customer });
  });
  return payments;
}

describe('chaos mode', () => {
  it('idempotent handlers (writes through ctx.tx, dedup by message id) stay exact with every fault on', async () => {
    const emailed = new Set<string>();
    const emails: string[] = [];
    let runs = 0;
    const builder = createIntegrationEventBus({ service: 'payments', logger: silentLogger })
      .handle(
        PaymentRequested,
        (event, ctx) => {
          runs++;
          const tx = ctx.tx as MemoryTransaction;
          const row = tx.get<{ applied: number }>('ledger', event.paymentId);
          tx.put('ledger', event.paymentId, { amount: event.amount, applied: (row?.applied ?? 0) + 1 });
        },
        { name: 'book-payment' },
      )
      .handle(
        PaymentRequested,
        (event, ctx) => {
          if (emailed.has(ctx.envelope.id)) return;
          emailed.add(ctx.envelope.id);
          emails.push(event.paymentId);
        },
        { name: 'email-receipt' },
      );
    harness = await createTestHarness(builder, { chaos: ALL_FAULTS, options: FAST_LEASES });
    await publishPayments(harness);
    await harness.drain({ timeoutMs: 20_000 });

    const ledger = harness.database().all<{ applied: number }>('ledger');
    expect(ledger).toHaveLength(COUNT);
    expect(ledger.every((row) => row.applied === 1)).toBe(true);
    expect(emails).toHaveLength(COUNT);
    expect(harness.consumedOf(PaymentRequested, (_p, m) => m.handler === 'book-payment')).toHaveLength(COUNT);
    expect(harness.consumedOf(PaymentRequested, (_p, m) => m.handler === 'email-receipt')).toHaveLength(
      COUNT,
    );
    // The faults really happened: handlers ran more often than there were events.
    expect(runs).toBeGreaterThan(COUNT);
    expect(harness.duplicates.length).toBeGreaterThan(0);
    expect(harness.errors.some((error) => error.error instanceof ChaosError)).toBe(true);
  });

  it("a naive handler with an external side effect fails the user's assertion", async () => {
    let charged = 0;
    const builder = createIntegrationEventBus({ service: 'payments', logger: silentLogger }).handle(
      PaymentRequested,
      () => {
        charged++;
      },
      { name: 'charge-card' },
    );
    harness = await createTestHarness(builder, { chaos: ALL_FAULTS, options: FAST_LEASES });
    await publishPayments(harness);
    await harness.drain({ timeoutMs: 20_000 });

    expect(charged).toBeGreaterThan(COUNT);
    expect(() => expect(charged).toBe(COUNT)).toThrow();
  });

  it('duplicate deliveries and re-sends alone are absorbed by the inbox, even for a naive handler', async () => {
    let charged = 0;
    const builder = createIntegrationEventBus({ service: 'payments', logger: silentLogger }).handle(
      PaymentRequested,
      () => {
        charged++;
      },
      { name: 'charge-card' },
    );
    harness = await createTestHarness(builder, {
      chaos: { duplicateDeliveries: true, crashBetweenPublishAndMark: true, seed: 3 },
      options: FAST_LEASES,
    });
    await publishPayments(harness);
    await harness.drain({ timeoutMs: 20_000 });

    expect(charged).toBe(COUNT);
    expect(harness.duplicates.length).toBeGreaterThanOrEqual(COUNT);
    expect(harness.errors.filter((error) => error.error instanceof ChaosError).length).toBeGreaterThan(0);
    expect(harness.publishedOf(PaymentRequested)).toHaveLength(COUNT);
  });

  it('reordering across keys keeps the order within each ordering key', async () => {
    const seen = new Map<string, number[]>();
    const builder = createIntegrationEventBus({ service: 'payments', logger: silentLogger }).handle(
      PaymentRequested,
      (event) => {
        seen.set(event.customer, [...(seen.get(event.customer) ?? []), event.amount]);
      },
      { name: 'per-customer' },
    );
    harness = await createTestHarness(builder, {
      chaos: { reorderKeys: true, duplicateDeliveries: true, seed: 9 },
    });
    const payments = await publishPayments(harness);
    await harness.drain();

    for (const customer of ['c-0', 'c-1', 'c-2', 'c-3']) {
      const expected = payments.filter((p) => p.customer === customer).map((p) => p.amount);
      expect(seen.get(customer), customer).toEqual(expected);
    }
  });
});
