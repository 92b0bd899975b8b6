import type { CorrelationRuleFilter, ServiceBusAdministrationClient } from '@azure/service-bus';
import { ConfigurationError, TransportError, type TransportNaming } from '@herald/core';
import { fnv1a } from './options.js';

/**
 * Subject of a retry copy. A `retry` disposition re-sends the message to its topic as a
 * scheduled copy addressed (`to`) to one subscription; this subject keeps the copy out of
 * every other subscription's event-name rules.
 */
export const RETRY_SUBJECT = 'herald.retry';

/** Name of the rule that lets a subscription's own retry copies in. */
export const RETRY_RULE = 'herald-retry';

/** A named correlation-filter rule of a subscription. */
export interface SubscriptionRule {
  /** Rule name: {@link eventRuleName} of an event, or {@link RETRY_RULE}. */
  readonly name: string;
  /** The correlation filter: `subject` = event name, or the retry subject with `to` = the subscription. */
  readonly filter: Readonly<CorrelationRuleFilter>;
}

/** Everything a consumer group needs on one topic. */
export interface SubscriptionSpec {
  /** The topic the subscription belongs to. */
  readonly topic: string;
  /** The consumer group's subscription name. */
  readonly subscription: string;
  /** Rules the subscription must have: one per handled event name, plus the retry rule. */
  readonly rules: readonly SubscriptionRule[];
  /** Whether the subscription is session-enabled (option `sessions`); an existing one must match. */
  readonly requiresSession: boolean;
  /** Peek-lock duration of a created subscription (ms). */
  readonly lockDurationMs: number;
  /** Deliveries after which Service Bus dead-letters a message, for a created subscription. */
  readonly maxDeliveryCount: number;
}

/**
 * Creates the entities the transport uses (`autoCreate`). The default talks to the
 * HTTPS/ATOM administration API; tests pass one that configures their AMQP test peer.
 */
export interface TopologyProvisioner {
  /** Creates the topic when it does not exist. */
  ensureTopic(topic: string): Promise<void>;
  /** Creates the subscription when it does not exist and adds the rules it lacks. */
  ensureSubscription(spec: SubscriptionSpec): Promise<void>;
}

/** Rule name of an event: readable, valid (at most 50 characters) and unique per event name. */
export function eventRuleName(eventName: string): string {
  const readable = eventName.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 40);
  return `${readable}.${fnv1a(eventName)}`;
}

/**
 * The rules of a group's subscription: one correlation filter on `subject` per event name,
 * and one that admits the subscription's own retry copies.
 */
export function subscriptionRules(subscription: string, eventNames: readonly string[]): SubscriptionRule[] {
  const rules: SubscriptionRule[] = [...new Set(eventNames)].map((eventName) => ({
    name: eventRuleName(eventName),
    filter: { subject: eventName },
  }));
  rules.push({ name: RETRY_RULE, filter: { subject: RETRY_SUBJECT, to: subscription } });
  return rules;
}

const iso8601 = (ms: number) => `PT${Math.max(5, Math.round(ms / 1000))}S`;

function isAlreadyExists(error: unknown): boolean {
  const code = (error as { code?: string; statusCode?: number } | undefined)?.code;
  return (
    code === 'MessagingEntityAlreadyExistsError' || (error as { statusCode?: number })?.statusCode === 409
  );
}

/**
 * The default provisioner: `ServiceBusAdministrationClient` (HTTPS, needs Manage rights).
 * New subscriptions get the transport's rules instead of the catch-all `$Default` rule, and
 * an existing subscription's `$Default` rule is removed (it would deliver every event of the
 * topic). Rules of event names a service no longer handles are left in place.
 */
export function administrationProvisioner(admin: ServiceBusAdministrationClient): TopologyProvisioner {
  return {
    async ensureTopic(topic) {
      try {
        if (await admin.topicExists(topic)) return;
        await admin.createTopic(topic);
      } catch (error) {
        if (!isAlreadyExists(error))
          throw new TransportError(`Could not create topic "${topic}"`, { cause: error });
      }
    },
    async ensureSubscription(spec) {
      const { topic, subscription, rules } = spec;
      try {
        if (!(await admin.subscriptionExists(topic, subscription))) {
          const [first, ...rest] = rules;
          try {
            await admin.createSubscription(topic, subscription, {
              requiresSession: spec.requiresSession,
              lockDuration: iso8601(spec.lockDurationMs),
              maxDeliveryCount: spec.maxDeliveryCount,
              ...(first ? { defaultRuleOptions: { name: first.name, filter: { ...first.filter } } } : {}),
            });
            for (const rule of rest)
              await admin.createRule(topic, subscription, rule.name, { ...rule.filter });
            return;
          } catch (error) {
            if (!isAlreadyExists(error)) throw error;
          }
        }
        const existing = await admin.getSubscription(topic, subscription);
        if (existing.requiresSession !== spec.requiresSession) {
          throw new ConfigurationError(
            `Subscription "${topic}/${subscription}" ${existing.requiresSession ? 'requires' : 'does not use'} sessions, but the transport is configured with sessions: ${spec.requiresSession}`,
          );
        }
        const present = new Set<string>();
        for await (const rule of admin.listRules(topic, subscription)) present.add(rule.name);
        for (const rule of rules) {
          if (present.has(rule.name)) continue;
          try {
            await admin.createRule(topic, subscription, rule.name, { ...rule.filter });
          } catch (error) {
            if (!isAlreadyExists(error)) throw error;
          }
        }
        if (present.has('$Default'))
          await admin.deleteRule(topic, subscription, '$Default').catch(() => undefined);
      } catch (error) {
        if (error instanceof ConfigurationError) throw error;
        throw new TransportError(`Could not create subscription "${topic}/${subscription}"`, {
          cause: error,
        });
      }
    },
  };
}

/**
 * The transport's naming for contracts and docs: each event on its topic
 * (`topic`), told apart by `subject` = event name; each group one
 * subscription, dead-lettering into its `$DeadLetterQueue`.
 */
export function serviceBusNaming(options: {
  readonly topicOf: (eventName: string) => string;
  readonly subscriptionName: (group: string) => string;
}): TransportNaming {
  return {
    protocol: 'amqp1',
    channel: (eventName) => ({ address: options.topicOf(eventName), subject: eventName }),
    consumer: (group) => {
      const name = options.subscriptionName(group);
      return { name, kind: 'subscription', deadLetter: `${name}/$DeadLetterQueue` };
    },
  };
}
