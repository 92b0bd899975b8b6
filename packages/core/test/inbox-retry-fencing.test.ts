import { afterEach, expect, it } from 'vitest';
import {
  createIntegrationEventBus,
  defineEvent,
  InProcessBroker,
  InProcessTransport,
  type IntegrationEventBus,
  memoryEventLog,
} from '../src/index.js';
import { eventually, fastOptions, lockTakenByNewerHolder, warningLogger } from './helpers.js';

const Ping = defineEvent<{ n: number }>('fenced-retry.ping');

const running: IntegrationEventBus[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((bus) => bus.stop()));
});

it('an inbox retry processor whose fencing token is older than one the store has seen claims nothing, lets go of its lock, and retries once it holds a current token', async () => {
  const broker = new InProcessBroker();
  const log = memoryEventLog();
  // A newer holder (token 3) claimed before this replica's first lease: tokens 1 and 2 are stale.
  const { lock, tokens } = lockTakenByNewerHolder(log, 'inbox');
  const { logger, warnings } = warningLogger();
  // Every first attempt fails and, with no local retries, becomes a stored retry: the processor's work.
  const retriedUnder: bigint[] = [];
  const bus = createIntegrationEventBus({ service: 'fenced-retries', logger })
    .useTransport(new InProcessTransport({ broker }))
    .useEventLog(log)
    .useLock(lock)
    .configure({ ...fastOptions, localRetryTimes: 0, distributedLockWaitDuration: 10, pollingInterval: 10 })
    .handle(Ping, async (_event, ctx) => {
      if (ctx.attempt === 1) throw new Error('first attempt fails');
      retriedUnder.push(tokens.at(-1)!);
    })
    .build();
  running.push(bus);
  await bus.start();
  await bus.publish([1, 2, 3].map((n) => new Ping({ n })));
  await eventually(() => retriedUnder.length === 3, 10_000);

  expect(tokens.slice(0, 3), 'the processor let go of each stale lease and took the lock again').toEqual([
    1n,
    2n,
    3n,
  ]);
  expect(
    warnings.filter(
      (warning) =>
        warning.startsWith('Inbox retry processor lost its lock') && warning.includes('StaleFencing'),
    ),
  ).toHaveLength(2);
  expect(retriedUnder, 'retried only under the current token').toEqual([3n, 3n, 3n]);
});
