import { outboxEntry, testWireMessage } from '@herald/testkit';
import { expect } from 'vitest';
import type { EngineHandle } from './engines.js';

/**
 * Holds a row lock on the oldest pending record in another open transaction (as
 * a relay in the middle of its claim would) and checks that a claim skips that
 * row at once instead of waiting for the lock (PostgreSQL and MariaDB).
 */
export async function claimSkipsLockedRows(db: EngineHandle): Promise<void> {
  const log = db.log();
  const messages = Array.from({ length: 5 }, (_, n) =>
    testWireMessage({ name: 'test.locked', payload: { n } }),
  );
  await log.outbox.add(messages.map(outboxEntry));
  const holder = db.client();
  let locked!: () => void;
  let release!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const placeholder = db.provider === 'postgresql' ? '$1' : '?';
  const holding = holder.$transaction(
    async (tx) => {
      await tx.$queryRawUnsafe(
        `SELECT sequence FROM herald_outbox WHERE id = ${placeholder} FOR UPDATE`,
        messages[0]!.id,
      );
      locked();
      await released;
    },
    { timeout: 30_000 },
  );
  try {
    await isLocked;
    const started = Date.now();
    const claimed = await log.outbox.claim({
      limit: 10,
      leaseMs: 60_000,
      owner: 'skip-locked',
      now: new Date(),
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(claimed.map((record) => record.message.id)).toEqual(
      messages.slice(1).map((message) => message.id),
    );
  } finally {
    release();
    await holding;
  }
  const rest = await log.outbox.claim({ limit: 10, leaseMs: 60_000, owner: 'skip-locked', now: new Date() });
  expect(rest.map((record) => record.message.id)).toEqual([messages[0]!.id]);
}
