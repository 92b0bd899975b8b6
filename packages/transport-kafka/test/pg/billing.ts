/**
 * The billing service of pg-crash.test.ts, run as its own process
 * (`node --import tsx`): consumes one event from Kafka into a PostgreSQL inbox
 * (@herald/outbox-prisma); the handler writes an effect row through `ctx.tx`,
 * so the row commits with the inbox entry. With CRASH_AFTER_ACKS it SIGKILLs
 * itself right after core decided `ack` for that many records: their inbox
 * transactions are committed, their offsets not.
 *
 * Reports `ready` and every recognised `duplicate` to the parent over IPC.
 */
import { createIntegrationEventBus, defineEvent, silentLogger, type Transport } from '@herald/core';
import { prismaEventLog } from '@herald/outbox-prisma';
import { PrismaPg } from '@prisma/adapter-pg';
import { kafkaTransport } from '../../src/index.js';
import { testOptions } from '../helpers.js';
import { PrismaClient } from './generated/client/client.js';

const need = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const processName = need('CRASH_PROCESS');
const crashAfterAcks = process.env.CRASH_AFTER_ACKS ? Number(process.env.CRASH_AFTER_ACKS) : undefined;

function crashingAfterAcks(transport: Transport): Transport {
  if (crashAfterAcks === undefined) return transport;
  let acks = 0;
  const subscribe = transport.subscribe.bind(transport);
  transport.subscribe = (subscription, handler) =>
    subscribe(subscription, async (message) => {
      const disposition = await handler(message);
      if (disposition.kind === 'ack' && ++acks >= crashAfterAcks) process.kill(process.pid, 'SIGKILL');
      return disposition;
    });
  return transport;
}

const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: need('CRASH_DATABASE_URL') }) });
const Charged = defineEvent<{ index: number }>(need('CRASH_EVENT'));
const bus = createIntegrationEventBus({ service: need('CRASH_SERVICE'), logger: silentLogger })
  .useTransport(
    crashingAfterAcks(
      kafkaTransport(
        testOptions({
          topicPrefix: need('CRASH_TOPIC_PREFIX'),
          topics: { numPartitions: 3 },
          consumer: { autoCommitThreshold: 20, autoCommitInterval: 100 },
        }),
      ),
    ),
  )
  .useEventLog(prismaEventLog(prisma, { provider: 'postgresql', logger: silentLogger }))
  .configure({ pollingInterval: 200, handlerTimeout: 10_000 })
  .handle(Charged, async (_event, ctx) => {
    const tx = ctx.tx as Pick<PrismaClient, 'effect'>;
    await tx.effect.create({ data: { messageId: ctx.envelope.id, process: processName } });
  })
  .build();
bus.on('duplicate', (event) => process.send?.({ type: 'duplicate', messageId: event.messageId }));

process.on('message', (command: { type: 'stop' }) => {
  if (command.type !== 'stop') return;
  bus
    .stop()
    .then(() => prisma.$disconnect())
    .then(
      () => process.exit(0),
      () => process.exit(1),
    );
});

await bus.start();
process.send?.({ type: 'ready' });
