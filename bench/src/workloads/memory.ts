import { createIntegrationEventBus, silentLogger } from '@herald/core';
import { nowMs } from '../histogram.ts';
import { benchEvent, benchEventClass } from '../payload.ts';
import { rate, type Workload } from '../workload.ts';

/**
 * Core alone, in this process: in-memory outbox and inbox, in-process transport, no-op handler.
 * No engine involved, so it shows core's own cost per event (and it is what the smoke test runs).
 */
export const memory: Workload = {
  id: 'memory',
  title: 'core only: in-memory outbox → in-process transport → in-memory inbox → no-op handler',
  services: [],
  timeoutMs: (quick) => (quick ? 60_000 : 120_000),
  async run(ctx) {
    const count = ctx.drainCount;
    const Event = benchEventClass(`bench.${ctx.runId}.memory`);
    let handled = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const seen = new Set<string>();
    let duplicates = 0;
    const bus = createIntegrationEventBus({ service: 'bench-memory', logger: silentLogger })
      .handle(Event, async function benchHandler(_event, context) {
        if (seen.has(context.envelope.id)) duplicates++;
        seen.add(context.envelope.id);
        if (++handled === count) resolveDone();
      })
      .build();
    await bus.start();
    const start = nowMs();
    try {
      for (let from = 0; from < count; from += 1000) {
        const size = Math.min(1000, count - from);
        await bus.publish(Array.from({ length: size }, (_, i) => benchEvent(Event, from + i + 1)));
      }
      await done;
      const end = nowMs();
      return {
        eventsPerSec: rate(handled, end - start),
        events: handled,
        duplicates,
        notes: [`${count} events published in batches of 1000 in the runner process; defaults`],
      };
    } finally {
      await bus.stop();
    }
  },
};
