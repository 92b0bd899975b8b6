import {
  createIntegrationEventBus,
  defineEvent,
  InProcessBroker,
  InProcessTransport,
  type IntegrationEventBus,
  memoryEventLog,
  silentLogger,
} from '@herald/core';

export const PaymentRequested = defineEvent<{ orderId: string; amount: number }>('billing.payment-requested');

/**
 * A service whose payment handler fails until `gateway.up` is set: with no
 * retries configured, its first event lands dead in the inbox at once.
 */
export async function failingService(): Promise<{
  bus: IntegrationEventBus;
  gateway: { up: boolean };
  handled: string[];
}> {
  const gateway = { up: false };
  const handled: string[] = [];
  const log = memoryEventLog();
  const bus = createIntegrationEventBus({ service: 'billing', logger: silentLogger })
    .useTransport(new InProcessTransport({ broker: new InProcessBroker() }))
    .useEventLog(log)
    .configure({ localRetryTimes: 0, maxRetryTimes: 0, pollingInterval: 50, minimumRetryInterval: 500 })
    .handle(PaymentRequested, async (event) => {
      if (!gateway.up) throw new Error('payment gateway unreachable');
      handled.push(event.orderId);
    })
    .build();
  await bus.start();
  return { bus, gateway, handled };
}
