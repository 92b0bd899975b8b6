import { ServiceBusAdministrationClient } from '@azure/service-bus';
import { describeTransportConformance } from '@herald/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  azureServiceBusTransport,
  defaultSubscriptionName,
  RETRY_RULE,
  RETRY_SUBJECT,
} from '../src/index.js';

// Runs only through `pnpm test:live` (vitest.live.config.ts), never in the normal test run.
const connectionString = process.env.AZURE_SERVICEBUS_CONNECTION_STRING;
if (!connectionString) {
  throw new Error(
    'The live suite needs AZURE_SERVICEBUS_CONNECTION_STRING (a namespace connection string with Manage rights)',
  );
}

// One topic per run (created by autoCreate, deleted afterwards) keeps runs apart.
const topic = process.env.AZURE_SERVICEBUS_TOPIC ?? `herald-live-${Date.now().toString(36)}`;
const admin = new ServiceBusAdministrationClient(connectionString);

afterAll(async () => {
  if (!process.env.AZURE_SERVICEBUS_TOPIC) await admin.deleteTopic(topic).catch(() => undefined);
});

describeTransportConformance({
  name: `azure-service-bus live (${topic})`,
  create: async () => azureServiceBusTransport({ connectionString, topic, autoCreate: true }),
  timeoutMs: 30_000,
  quietMs: 1_000,
});

describeTransportConformance({
  name: `azure-service-bus live with sessions (${topic})`,
  create: async () =>
    azureServiceBusTransport({
      connectionString,
      topic,
      autoCreate: true,
      sessions: true,
      sessionIdleTimeoutMs: 2_000,
    }),
  timeoutMs: 30_000,
  quietMs: 1_000,
});

describe('autoCreate on a real namespace', () => {
  it('creates the subscription with one correlation rule per event name and the retry rule, without $Default', async () => {
    const group = `live.topology-${Date.now().toString(36)}`;
    const events = ['live.OrderCreated', 'live.OrderShipped'];
    const transport = azureServiceBusTransport({ connectionString, topic, autoCreate: true });
    await transport.start();
    try {
      const handle = await transport.subscribe({ group, eventNames: events }, async () => ({ kind: 'ack' }));
      await handle.close();
      const subscription = defaultSubscriptionName(group);
      const rules: Array<{ name: string; filter: unknown }> = [];
      for await (const rule of admin.listRules(topic, subscription))
        rules.push({ name: rule.name, filter: rule.filter });
      expect(rules.map((rule) => rule.name)).not.toContain('$Default');
      const filters = rules.map((rule) => rule.filter as { subject?: string; to?: string });
      for (const name of events) expect(filters.some((filter) => filter.subject === name)).toBe(true);
      const retry = rules.find((rule) => rule.name === RETRY_RULE)?.filter as {
        subject?: string;
        to?: string;
      };
      expect(retry).toMatchObject({ subject: RETRY_SUBJECT, to: subscription });
    } finally {
      await transport.stop();
    }
  });
});
