import type { ServiceBusAdministrationClient } from '@azure/service-bus';
import { ConfigurationError, TransportError } from '@herald/core';
import { describe, expect, it } from 'vitest';
import { administrationProvisioner, type SubscriptionSpec, subscriptionRules } from '../src/index.js';

/**
 * The administration API is HTTPS/ATOM and neither the test peer nor this machine has it;
 * this records the calls the provisioner makes (the live suite checks a real namespace).
 */
function fakeAdmin(state: {
  topics?: string[];
  subscriptions?: Record<string, { requiresSession: boolean; rules: string[] }>;
}) {
  const calls: string[] = [];
  const topics = new Set(state.topics ?? []);
  const subscriptions = new Map(Object.entries(state.subscriptions ?? {}));
  const admin = {
    async topicExists(topic: string) {
      return topics.has(topic);
    },
    async createTopic(topic: string) {
      calls.push(`createTopic ${topic}`);
      topics.add(topic);
    },
    async subscriptionExists(topic: string, name: string) {
      return subscriptions.has(`${topic}/${name}`);
    },
    async createSubscription(topic: string, name: string, options: any) {
      calls.push(
        `createSubscription ${topic}/${name} session=${options.requiresSession} lock=${options.lockDuration} max=${options.maxDeliveryCount} default=${options.defaultRuleOptions?.name}`,
      );
      subscriptions.set(`${topic}/${name}`, {
        requiresSession: options.requiresSession,
        rules: [options.defaultRuleOptions.name],
      });
    },
    async getSubscription(topic: string, name: string) {
      return subscriptions.get(`${topic}/${name}`);
    },
    async *listRules(topic: string, name: string) {
      for (const rule of subscriptions.get(`${topic}/${name}`)?.rules ?? []) yield { name: rule };
    },
    async createRule(topic: string, name: string, rule: string, filter: unknown) {
      calls.push(`createRule ${topic}/${name} ${rule} ${JSON.stringify(filter)}`);
      subscriptions.get(`${topic}/${name}`)?.rules.push(rule);
    },
    async deleteRule(topic: string, name: string, rule: string) {
      calls.push(`deleteRule ${topic}/${name} ${rule}`);
    },
  };
  return { admin: admin as unknown as ServiceBusAdministrationClient, calls };
}

const spec = (overrides: Partial<SubscriptionSpec> = {}): SubscriptionSpec => ({
  topic: 'herald',
  subscription: 'ordering',
  rules: subscriptionRules('ordering', ['OrderCreated']),
  requiresSession: false,
  lockDurationMs: 30_000,
  maxDeliveryCount: 7,
  ...overrides,
});

describe('administrationProvisioner', () => {
  it('creates a missing topic once, and leaves an existing one alone', async () => {
    const { admin, calls } = fakeAdmin({ topics: ['existing'] });
    const provisioner = administrationProvisioner(admin);
    await provisioner.ensureTopic('existing');
    await provisioner.ensureTopic('herald');
    expect(calls).toEqual(['createTopic herald']);
  });

  it('creates a subscription with the first rule instead of $Default, then adds the others', async () => {
    const { admin, calls } = fakeAdmin({ topics: ['herald'] });
    await administrationProvisioner(admin).ensureSubscription(spec());
    const [event, retry] = subscriptionRules('ordering', ['OrderCreated']);
    expect(calls).toEqual([
      `createSubscription herald/ordering session=false lock=PT30S max=7 default=${event!.name}`,
      `createRule herald/ordering ${retry!.name} {"subject":"herald.retry","to":"ordering"}`,
    ]);
  });

  it('adds missing rules to an existing subscription and removes its catch-all $Default rule', async () => {
    const [event] = subscriptionRules('ordering', ['OrderCreated']);
    const { admin, calls } = fakeAdmin({
      topics: ['herald'],
      subscriptions: { 'herald/ordering': { requiresSession: false, rules: ['$Default', event!.name] } },
    });
    await administrationProvisioner(admin).ensureSubscription(
      spec({ rules: subscriptionRules('ordering', ['OrderCreated', 'OrderShipped']) }),
    );
    expect(calls.filter((call) => call.startsWith('createRule')).map((call) => call.split(' ')[2])).toEqual(
      subscriptionRules('ordering', ['OrderCreated', 'OrderShipped'])
        .slice(1)
        .map((rule) => rule.name),
    );
    expect(calls).toContain('deleteRule herald/ordering $Default');
  });

  it('refuses a session mismatch with a ConfigurationError, and wraps admin failures in a TransportError', async () => {
    const { admin } = fakeAdmin({
      topics: ['herald'],
      subscriptions: { 'herald/ordering': { requiresSession: false, rules: [] } },
    });
    await expect(
      administrationProvisioner(admin).ensureSubscription(spec({ requiresSession: true })),
    ).rejects.toBeInstanceOf(ConfigurationError);
    const broken = { topicExists: async () => Promise.reject(new Error('401 Unauthorized')) };
    await expect(
      administrationProvisioner(broken as unknown as ServiceBusAdministrationClient).ensureTopic('x'),
    ).rejects.toBeInstanceOf(TransportError);
  });
});
