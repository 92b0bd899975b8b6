import {
  createIntegrationEventBus,
  type HeraldOptions,
  InProcessBroker,
  InProcessTransport,
  type IntegrationEventBusBuilder,
  silentLogger,
} from '../src/index.js';

/** Options small enough for tests to see retries and dead letters quickly. */
export const fastOptions: Partial<HeraldOptions> = {
  localRetryTimes: 2,
  localFailedRetryInterval: 5,
  maxRetryTimes: 2,
  failedRetryInterval: 20,
  retryBackoff: () => 20,
  minimumRetryInterval: 500,
  pollingInterval: 50,
  handlerTimeout: 200,
};

/** A builder on its own in-process broker with fast options. */
export function testBuilder(service: string, broker = new InProcessBroker()): IntegrationEventBusBuilder {
  return createIntegrationEventBus({ service, logger: silentLogger })
    .useTransport(new InProcessTransport({ broker }))
    .configure(fastOptions);
}

/** Resolves when `predicate` holds, polling every 5 ms; rejects after `timeoutMs`. */
export async function eventually(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('Condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
