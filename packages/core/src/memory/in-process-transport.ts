import type {
  DeadLetter,
  DeliveryHandler,
  Disposition,
  IncomingMessage,
  PublishOutcome,
  Subscription,
  SubscriptionHandle,
  Transport,
  TransportCapabilities,
  TransportNaming,
} from '../ports/transport.js';
import { bucketOf } from '../runtime/bucket.js';
import type { WireMessage } from '../wire.js';

interface Member {
  handler: DeliveryHandler;
  closed: boolean;
  inFlight: number;
  idle: Array<() => void>;
}

interface Group {
  names: Set<string>;
  members: Member[];
  /** Per ordering key: the tail of its delivery chain, so one key is delivered in order. */
  chains: Map<string, Promise<void>>;
  deadLetters: DeadLetter[];
  /** Messages that arrived while the group had no member, kept like a durable queue would. */
  parked: Array<{ key: string | undefined; message: IncomingMessage }>;
}

/**
 * The broker behind in-process transports: buses in one process that share a
 * broker exchange events like services over a real broker (monolith mode,
 * ABP's LocalDistributedEventBus). Not persistent.
 */
export class InProcessBroker {
  readonly #groups = new Map<string, Group>();
  #pending = 0;
  #idleWaiters: Array<() => void> = [];

  /** Deliveries not yet disposed (including scheduled redeliveries; not messages parked for absent groups). */
  get pending(): number {
    return this.#pending;
  }

  /** Resolves when nothing is queued, running or scheduled for redelivery. */
  whenIdle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Adds a member to the subscription's group (created on first join) and hands it the messages
   * parked while the group had none. Members of a group share its messages; one key goes to one member.
   */
  join(subscription: Subscription, handler: DeliveryHandler): Member {
    let group = this.#groups.get(subscription.group);
    if (!group) {
      group = { names: new Set(), members: [], chains: new Map(), deadLetters: [], parked: [] };
      this.#groups.set(subscription.group, group);
    }
    for (const name of subscription.eventNames) group.names.add(name);
    const member: Member = { handler, closed: false, inFlight: 0, idle: [] };
    group.members.push(member);
    for (const { key, message } of group.parked.splice(0)) this.#enqueue(group, key, message);
    return member;
  }

  /** Removes a member from its group; resolves once the deliveries it is handling are disposed. */
  leave(groupName: string, member: Member): Promise<void> {
    member.closed = true;
    const group = this.#groups.get(groupName);
    if (group) group.members = group.members.filter((m) => m !== member);
    if (member.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => member.idle.push(resolve));
  }

  /**
   * Queues a copy of the message for every group subscribed to its name (in order per ordering key);
   * returns at once. A group without members keeps it until one joins.
   */
  publish(message: WireMessage): void {
    for (const group of this.#groups.values()) {
      if (!group.names.has(message.name)) continue;
      const copy: IncomingMessage = {
        headers: { ...message.headers },
        body: message.body.slice(),
        deliveryAttempt: 1,
      };
      this.#enqueue(group, message.orderingKey, copy);
    }
  }

  /** The messages a group dead-lettered, oldest first (a copy; empty for an unknown group). */
  deadLetters(groupName: string): DeadLetter[] {
    return [...(this.#groups.get(groupName)?.deadLetters ?? [])];
  }

  #enqueue(group: Group, orderingKey: string | undefined, message: IncomingMessage): void {
    this.#pending++;
    const run = async () => {
      await this.#deliver(group, orderingKey, message);
    };
    if (orderingKey === undefined) {
      queueMicrotask(() => void run());
      return;
    }
    const previous = group.chains.get(orderingKey) ?? Promise.resolve();
    const next = previous.then(run, run);
    group.chains.set(orderingKey, next);
    void next.then(() => {
      if (group.chains.get(orderingKey) === next) group.chains.delete(orderingKey);
    });
  }

  async #deliver(group: Group, orderingKey: string | undefined, message: IncomingMessage): Promise<void> {
    const members = group.members.filter((member) => !member.closed);
    if (members.length === 0) {
      // No consumer right now: park it until a member joins (not counted as pending work).
      group.parked.push({ key: orderingKey, message });
      this.#settled();
      return;
    }
    const index =
      orderingKey === undefined
        ? Math.floor(Math.random() * members.length)
        : bucketOf(orderingKey) % members.length;
    const member = members[index]!;
    member.inFlight++;
    let disposition: Disposition;
    try {
      disposition = await member.handler(message);
    } catch (error) {
      disposition = { kind: 'retry', delayMs: 100, reason: String(error) };
    } finally {
      member.inFlight--;
      if (member.inFlight === 0 && member.idle.length > 0) {
        for (const resolve of member.idle.splice(0)) resolve();
      }
    }
    if (disposition.kind === 'retry') {
      const next: IncomingMessage = { ...message, deliveryAttempt: message.deliveryAttempt + 1 };
      if (orderingKey !== undefined) {
        // Redeliver inside the key's chain so later messages of the key wait (order per key).
        await new Promise((resolve) => setTimeout(resolve, disposition.delayMs));
        return this.#deliver(group, orderingKey, next);
      }
      this.#redeliverLater(group, orderingKey, next, disposition.delayMs);
      return;
    }
    if (disposition.kind === 'dead-letter') {
      group.deadLetters.push({ headers: message.headers, body: message.body, reason: disposition.reason });
    }
    this.#settled();
  }

  #redeliverLater(group: Group, key: string | undefined, next: IncomingMessage, delayMs: number): void {
    const timer = setTimeout(() => {
      this.#enqueue(group, key, next);
      this.#settled();
    }, delayMs);
    timer.unref?.();
  }

  #settled(): void {
    this.#pending--;
    if (this.#pending === 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }
}

let defaultBroker: InProcessBroker | undefined;

/** The process-wide broker used when none is given. */
export function defaultInProcessBroker(): InProcessBroker {
  defaultBroker ??= new InProcessBroker();
  return defaultBroker;
}

/**
 * Transport inside one process: the default when no broker is configured, so
 * the same code runs as a monolith and later as separate services.
 */
export class InProcessTransport implements Transport {
  readonly name = 'in-process';
  /** Ordered per key, consumer groups, dead letters and delayed redelivery; not persistent (memory only). */
  readonly capabilities: TransportCapabilities = {
    orderedByKey: true,
    persistent: false,
    deadLetter: true,
    batchPublish: true,
    delayedRedelivery: true,
    consumerGroups: true,
  };
  /** The broker it publishes to: `options.broker`, else the process-wide one (buses sharing it exchange events). */
  readonly broker: InProcessBroker;
  /** Events travel by name; each consumer group has its own in-memory queue. */
  readonly naming: TransportNaming = {
    protocol: 'in-process',
    channel: (eventName) => ({ address: eventName }),
    consumer: (group) => ({ name: group, kind: 'queue' }),
  };
  readonly #handles = new Set<SubscriptionHandle>();
  #started = false;

  constructor(options: { broker?: InProcessBroker } = {}) {
    this.broker = options.broker ?? defaultInProcessBroker();
  }

  async start(): Promise<void> {
    this.#started = true;
  }

  async publish(messages: readonly WireMessage[]): Promise<PublishOutcome[]> {
    return messages.map((message) => {
      if (!this.#started)
        return { id: message.id, ok: false, error: new Error('The in-process transport is not started') };
      this.broker.publish(message);
      return { id: message.id, ok: true };
    });
  }

  async subscribe(subscription: Subscription, handler: DeliveryHandler): Promise<SubscriptionHandle> {
    const member = this.broker.join(subscription, handler);
    const handle: SubscriptionHandle = {
      close: async () => {
        this.#handles.delete(handle);
        await this.broker.leave(subscription.group, member);
      },
    };
    this.#handles.add(handle);
    return handle;
  }

  async readDeadLetters(group: string, limit: number): Promise<DeadLetter[]> {
    return this.broker.deadLetters(group).slice(0, limit);
  }

  /** Resolves when the broker has nothing queued, running or scheduled for redelivery. */
  whenIdle(): Promise<void> {
    return this.broker.whenIdle();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#handles].map((handle) => handle.close()));
    this.#started = false;
  }
}
