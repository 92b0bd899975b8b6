import { afterEach, expect, it } from 'vitest';
import {
  createIntegrationEventBus,
  type DistributedLock,
  defineEvent,
  InProcessBroker,
  InProcessTransport,
  type IntegrationEventBus,
  MemoryLock,
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

it('a handling the retry processor started before a newer holder took its lock does not commit: the entry stays open and the processor lets go', async () => {
  const broker = new InProcessBroker();
  const log = memoryEventLog();
  const memoryLock = new MemoryLock();
  const keys: string[] = [];
  const lock: DistributedLock = {
    name: 'memory-observed',
    async acquire(key, ttlMs) {
      if (key.startsWith('herald:inbox:')) keys.push(key);
      return memoryLock.acquire(key, ttlMs);
    },
  };
  const { logger, warnings } = warningLogger();
  let retries = 0;
  const bus = createIntegrationEventBus({ service: 'fenced-complete', logger })
    .useTransport(new InProcessTransport({ broker }))
    .useEventLog(log)
    .useLock(lock)
    .configure({ ...fastOptions, localRetryTimes: 0, distributedLockWaitDuration: 10, pollingInterval: 10 })
    .handle(Ping, async () => {
      retries++;
      if (retries === 1) throw new Error('first attempt fails');
      // While the stored retry runs, a newer holder of the processor's lock claims (token 99).
      await log.inbox.claimDue({
        limit: 0,
        leaseMs: 1,
        owner: 'newer-holder',
        now: new Date(),
        fence: { lock: keys.at(-1)!, token: 99n },
      });
    })
    .build();
  running.push(bus);
  await bus.start();
  await bus.publish(new Ping({ n: 1 }));
  await eventually(
    () => warnings.some((warning) => warning.startsWith('Inbox retry processor lost its lock')),
    10_000,
  );
  const [record] = await log.inbox.list({});
  expect(record?.status, 'the refused handling rolled back').not.toBe('processed');
  expect(retries).toBe(2);
});
