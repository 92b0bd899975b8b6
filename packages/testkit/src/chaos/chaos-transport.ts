import {
  type DeadLetter,
  type DeliveryHandler,
  type PublishOutcome,
  type Subscription,
  type SubscriptionHandle,
  type Transport,
  type TransportCapabilities,
  WireHeaders,
  type WireMessage,
} from '@herald/core';
import { seededRandom } from '../internal/random.js';
import type { ChaosOptions } from './options.js';

/**
 * Shuffles messages of different ordering keys while keeping the order of
 * each key (and treating every key-less message as its own lane).
 */
export function shuffleAcrossKeys(messages: readonly WireMessage[], random: () => number): WireMessage[] {
  const lanes: WireMessage[][] = [];
  const byKey = new Map<string, WireMessage[]>();
  for (const message of messages) {
    if (message.orderingKey === undefined) {
      lanes.push([message]);
      continue;
    }
    let lane = byKey.get(message.orderingKey);
    if (!lane) {
      lane = [];
      byKey.set(message.orderingKey, lane);
      lanes.push(lane);
    }
    lane.push(message);
  }
  const shuffled: WireMessage[] = [];
  while (lanes.length > 0) {
    const index = Math.floor(random() * lanes.length);
    const lane = lanes[index]!;
    shuffled.push(lane.shift()!);
    if (lane.length === 0) lanes.splice(index, 1);
  }
  return shuffled;
}

/**
 * A {@link Transport} wrapper that injects delivery faults:
 * `duplicateDeliveries` delivers every acknowledged message once more right
 * after its handling (a lost ack — the copy reaches the consumer after the
 * original finished, as a broker redelivery does), and `reorderKeys` shuffles
 * the messages of different ordering keys within each published batch.
 */
export class ChaosTransport implements Transport {
  /** `chaos(<inner name>)`. */
  readonly name: string;
  /** The wrapped transport's capabilities (the faults stay within them). */
  readonly capabilities: TransportCapabilities;
  /** The wrapped transport. */
  readonly inner: Transport;
  /** Deliveries repeated so far (one per acknowledged message and group). */
  duplicatedDeliveries = 0;
  /** The wrapped transport's dead letters (present when it has them). */
  readonly readDeadLetters?: (group: string, limit: number) => Promise<DeadLetter[]>;
  /** The wrapped transport's connection health (present when it has it). */
  readonly health?: () => Promise<{
    /** The wrapped transport's answer: true when it can publish and receive right now. */
    readonly connected: boolean;
    /** The wrapped transport's explanation, when it gives one. */
    readonly detail?: string;
  }>;
  /** The wrapped transport's idle signal (present when it has it; used by `bus.drain()`). */
  readonly whenIdle?: () => Promise<void>;
  readonly #options: ChaosOptions;
  readonly #random: () => number;
  readonly #duplicated = new Set<string>();

  constructor(inner: Transport, options: ChaosOptions) {
    this.inner = inner;
    this.name = `chaos(${inner.name})`;
    this.capabilities = inner.capabilities;
    this.#options = options;
    this.#random = seededRandom((options.seed ?? 1) + 0x5eed);
    if (inner.readDeadLetters) this.readDeadLetters = (group, limit) => inner.readDeadLetters!(group, limit);
    const optional = inner as { health?: ChaosTransport['health'] };
    if (optional.health) this.health = () => optional.health!.call(inner);
    if (inner.whenIdle) this.whenIdle = () => inner.whenIdle!();
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  async publish(messages: readonly WireMessage[]): Promise<PublishOutcome[]> {
    if (!this.#options.reorderKeys || messages.length < 2) return this.inner.publish(messages);
    const shuffled = shuffleAcrossKeys(messages, this.#random);
    const outcomes = await this.inner.publish(shuffled);
    const byId = new Map(outcomes.map((outcome) => [outcome.id, outcome]));
    return messages.map(
      (message) =>
        byId.get(message.id) ?? {
          id: message.id,
          ok: false,
          error: new Error('The transport returned no outcome'),
        },
    );
  }

  subscribe(subscription: Subscription, handler: DeliveryHandler): Promise<SubscriptionHandle> {
    if (!this.#options.duplicateDeliveries) return this.inner.subscribe(subscription, handler);
    return this.inner.subscribe(subscription, async (message) => {
      const disposition = await handler(message);
      const id = message.headers[WireHeaders.id];
      const key = `${subscription.group}\u0000${id}`;
      if (disposition.kind !== 'ack' || id === undefined || this.#duplicated.has(key)) return disposition;
      this.#duplicated.add(key);
      this.duplicatedDeliveries++;
      return handler({ ...message, deliveryAttempt: message.deliveryAttempt + 1 });
    });
  }
}

/** Wraps `transport` with the delivery faults of `options` (see {@link ChaosTransport}). */
export function chaosTransport(transport: Transport, options: ChaosOptions): ChaosTransport {
  return new ChaosTransport(transport, options);
}
