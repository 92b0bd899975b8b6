/**
 * Names on the Dapr side: topics per event name and the dead-letter topic per
 * consumer group. Dapr creates topics (streams, exchanges, Kafka topics) on
 * first publish or subscribe, so there is nothing to declare up front.
 */

/** Default topic of an event: the prefix and the event name. */
export function defaultTopicFor(prefix: string, eventName: string): string {
  return `${prefix}${eventName}`;
}

/** Default dead-letter topic of a consumer group. */
export function defaultDeadLetterTopicFor(prefix: string, group: string): string {
  return `${prefix}herald.dead-letters.${group}`;
}

/** One Dapr streaming subscription: a component and a topic, for one consumer group. */
export interface SubscriptionTarget {
  readonly pubsubName: string;
  readonly topic: string;
  /** The event names of the Herald subscription this topic carries. */
  readonly eventNames: readonly string[];
}

/**
 * Groups a subscription's event names by (component, topic): several names
 * mapped onto one topic share one Dapr subscription, and that topic then
 * carries names the group did not ask for only if some other name maps to it too.
 */
export function subscriptionTargets(
  eventNames: readonly string[],
  pubsubFor: (eventName: string) => string,
  topicFor: (eventName: string) => string,
): SubscriptionTarget[] {
  const byKey = new Map<string, { pubsubName: string; topic: string; eventNames: string[] }>();
  for (const eventName of eventNames) {
    const pubsubName = pubsubFor(eventName);
    const topic = topicFor(eventName);
    const key = `${pubsubName}\u0000${topic}`;
    const target = byKey.get(key) ?? { pubsubName, topic, eventNames: [] };
    target.eventNames.push(eventName);
    byKey.set(key, target);
  }
  return [...byKey.values()];
}
