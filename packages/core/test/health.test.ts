import { describe, expect, it } from 'vitest';
import { memoryEventLog } from '../src/index.js';
import { testBuilder } from './helpers.js';

describe('health while an event log cannot be read', () => {
  it.each(['outbox', 'inbox'] as const)(
    'an unreadable %s makes the bus not ready, with a redacted reason',
    async (store) => {
      const log = memoryEventLog();
      const refuse = async () => {
        throw new Error('connect postgres://app:hunter2-secret@db:5432/x: password authentication failed');
      };
      if (store === 'outbox') log.outbox.backlog = refuse;
      else log.inbox.list = refuse;
      const bus = testBuilder('health-test').useEventLog(log).build();
      await bus.start();
      try {
        const health = await bus.health();
        expect(health).toMatchObject({ live: true, ready: false, eventLog: { reachable: false } });
        expect(health.reasons).toEqual([
          expect.stringMatching(/^event log cannot be read: .*password authentication failed/),
        ]);
        expect(JSON.stringify(health)).not.toContain('hunter2-secret');

        // The store recovers: so does readiness.
        if (store === 'outbox') delete (log.outbox as { backlog?: unknown }).backlog;
        else delete (log.inbox as { list?: unknown }).list;
        expect(await bus.health()).toMatchObject({ ready: true, reasons: [], eventLog: { reachable: true } });
      } finally {
        await bus.stop();
      }
    },
  );
});
