import { deleteRabbitTopology } from '../brokers.ts';
import type { TransportConfig } from '../herald.ts';
import { ratioOf, type Workload } from '../workload.ts';
import { drain } from './drain.ts';

/** Four relay processes on one outbox with the Redis lock, against drain-rabbit's single relay. */
export const relays4: Workload = {
  id: 'relays-4',
  title: 'four relay processes with the Redis lock on one outbox → RabbitMQ → inbox',
  services: ['postgres', 'rabbitmq', 'redis'],
  timeoutMs: (quick) => (quick ? 120_000 : 420_000),
  async run(ctx) {
    const transport: TransportConfig = {
      kind: 'rabbitmq',
      url: ctx.engines.rabbitUrl,
      exchange: `bench.${ctx.runId}.relays`,
    };
    const count = ctx.quick ? 8_000 : ctx.drainCount;
    try {
      const result = await drain(ctx, 'relays', {
        transport,
        count,
        relays: 4,
        lockUrls: ctx.engines.redisUrls,
        settleMs: 3_000,
        timeoutMs: ctx.quick ? 45_000 : 360_000,
      });
      const single = ctx.results['drain-rabbit']?.eventsPerSec;
      const ratio = ratioOf(result.eventsPerSec, single);
      return {
        ...result,
        ratio,
        targets: [
          ...(ratio === undefined
            ? []
            : [{ label: `≥ 0.95 × one relay (drain-rabbit) (${ratio})`, met: ratio >= 0.95 }]),
          { label: `zero duplicates reaching handlers (${result.duplicates})`, met: result.duplicates === 0 },
        ],
        notes: [
          `${count} events; 4 relay processes, Redis lock on ${ctx.engines.redisUrls.length} node(s), relayShards 1 (one relay holds the outbox lock at a time); duplicates counted by message id in the handler, 3 s after the last event`,
        ],
      };
    } finally {
      await deleteRabbitTopology(ctx.engines.rabbitUrl, (transport as { exchange: string }).exchange, [
        'bench-consumer',
      ]).catch(() => undefined);
    }
  },
};
