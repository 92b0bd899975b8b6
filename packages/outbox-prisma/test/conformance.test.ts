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
      return { store: db.log().outbox, transaction: (work) => db.prisma.$transaction(work) };
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
