import { describeInboxStoreConformance, describeOutboxStoreConformance } from '@herald/testkit';
import { afterAll } from 'vitest';
import { ENGINE_NAMES, lazyEngine, PROVIDERS } from './helpers.js';

// The shared OutboxStore and InboxStore suites, against real PostgreSQL, MariaDB and an SQLite file.
for (const provider of PROVIDERS) {
  const engine = lazyEngine(provider);
  afterAll(() => engine.close());

  describeOutboxStoreConformance({
    name: `prisma-${provider} (${ENGINE_NAMES[provider]})`,
    create: async () => {
      const db = await engine.get();
      await db.reset();
      // PostgreSQL as recommended: NOTIFY on commit and a LISTEN connection (the wakesOnCommit case).
      const log = provider === 'postgresql' ? db.log({ notify: { connectionString: db.url } }) : db.log();
      return {
        store: log.outbox,
        transaction: (work) => db.prisma.$transaction(work),
        cleanup: () => log.outbox.close(),
      };
    },
  });

  describeInboxStoreConformance({
    name: `prisma-${provider} (${ENGINE_NAMES[provider]})`,
    create: async () => {
      const db = await engine.get();
      await db.reset();
      return { store: db.log().inbox };
    },
  });
}
