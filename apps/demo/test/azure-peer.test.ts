import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUBSCRIPTIONS } from '@herald/demo-kit';
import { defaultSubscriptionName, subscriptionRules } from '@herald/transport-azure';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

// `--transport azure` cannot reach a Service Bus namespace here. This runs the demo's three
// service processes over the real @azure/service-bus SDK against the AMQP 1.0 test peer that
// @herald/transport-azure's own tests use (plain TCP, no TLS, no administration API), with the
// run's topic and subscriptions created in the peer beforehand instead of by autoCreate.

/** The part of the transport package's test peer this test uses. */
interface AmqpTestPeer {
  readonly connectionString: string;
  createTopic(name: string): void;
  createSubscription(
    topic: string,
    subscription: string,
    settings: { rules: object[]; requiresSession: boolean; lockDurationMs: number; maxDeliveryCount: number },
  ): void;
  stop(): Promise<void>;
}

const peerModule = new URL(
  '../../../packages/transport-azure/test/support/amqp-test-peer.ts',
  import.meta.url,
).href;
let peer: AmqpTestPeer;
let dataDir: string;

beforeAll(async () => {
  const { AmqpTestPeer } = (await import(peerModule)) as { AmqpTestPeer: { start(): Promise<AmqpTestPeer> } };
  peer = await AmqpTestPeer.start();
  dataDir = mkdtempSync(join(tmpdir(), 'herald-demo-azure-'));
});

afterAll(async () => {
  await peer?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('demo as separate processes on the Azure Service Bus transport (AMQP test peer), SQLite', () => {
  it('the ledger holds', { timeout: 110_000 }, async () => {
    const run = `peer${Date.now().toString(36)}`;
    const topic = `herald-azure_peer-${run}`; // what --namespace=azure_peer --run=<run> names it
    peer.createTopic(topic);
    const groups = new Map<string, string[]>();
    for (const [eventName, subscriptions] of Object.entries(SUBSCRIPTIONS))
      for (const { service } of subscriptions)
        groups.set(service, [...(groups.get(service) ?? []), eventName]);
    for (const [group, eventNames] of groups) {
      const subscription = defaultSubscriptionName(group);
      peer.createSubscription(topic, subscription, {
        rules: subscriptionRules(subscription, eventNames).map((rule) => ({ ...rule.filter })),
        requiresSession: false,
        lockDurationMs: 30_000,
        maxDeliveryCount: 10,
      });
    }
    const result = await runCli(
      [
        '--transport=azure',
        '--db=sqlite',
        `--data-dir=${dataDir}`,
        '--namespace=azure_peer',
        `--run=${run}`,
        '--products=10',
        '--orders=60',
        '--keep', // the peer models no administration API to delete the topic with
        '--timeout=60',
      ],
      100_000,
      {
        ...process.env,
        AZURE_SERVICEBUS_CONNECTION_STRING: peer.connectionString,
        HERALD_DEMO_AZURE_AUTOCREATE: '0',
      },
    );
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.code, output).toBe(0);
    expect(result.lines).toContainEqual(expect.stringMatching(/started as 3 processes \(azure;/));
    expect(result.lines).toContainEqual(expect.stringMatching(/^dead-lettered=6 of 6 as designed/));
    // 10 created + 10 updated + 2 deleted + 60 orders.
    expect(result.ledger, output).toEqual({ ok: true, published: 82, handled: 82, duplicates: 0, lost: 0 });
  });
});
