import type { TransportNaming } from '@herald/core';
import type { Channel } from 'amqplib';
import type { ResolvedOptions } from './options.js';

/** Queue names of one consumer group. */
export interface GroupQueues {
  /** Where the group consumes from; bound to the exchange by event name. */
  readonly queue: string;
  /** Retry queue per delay tier: TTL, then dead-lettered back into `queue`. */
  readonly retry: ReadonlyArray<{
    /** The tier's delay (ms): the retry queue's message TTL. */
    readonly delayMs: number;
    /** The retry queue's name: `<group queue>.retry.<tier>` (e.g. `herald.billing.retry.5s`). */
    readonly queue: string;
  }>;
  /** Where dead-lettered messages are kept, with the reason in headers. */
  readonly deadLetter: string;
}

/** Short tier labels in queue names: 500ms, 5s, 5m. */
function tierLabel(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

/**
 * Names and declares the RabbitMQ objects of a bus: one durable topic exchange,
 * and per consumer group a queue, a dead-letter queue and one retry queue per
 * delay tier (RabbitMQ 3.10 has no delayed-message exchange built in, so delays
 * are TTL queues that dead-letter back into the group queue).
 */
export class Topology {
  readonly #options: ResolvedOptions;

  constructor(options: ResolvedOptions) {
    this.#options = options;
  }

  /** Name of the bus's durable topic exchange (option `exchange`, default `herald`). */
  get exchange(): string {
    return this.#options.exchange;
  }

  /** Names for contracts and docs: events are routing keys on the exchange; groups are queues. */
  get naming(): TransportNaming {
    return {
      protocol: 'amqp',
      channel: (eventName) => ({ address: eventName, exchange: this.exchange }),
      consumer: (group) => {
        const queues = this.queuesOf(group);
        return { name: queues.queue, kind: 'queue', deadLetter: queues.deadLetter };
      },
    };
  }

  /** The names of a consumer group's queues (computed from the options; nothing is declared). */
  queuesOf(group: string): GroupQueues {
    const queue = `${this.#options.queuePrefix}${group}`;
    return {
      queue,
      retry: this.#options.retryDelays.map((delayMs) => ({
        delayMs,
        queue: `${queue}.retry.${tierLabel(delayMs)}`,
      })),
      deadLetter: `${queue}.dead-letter`,
    };
  }

  /** The retry queue for a requested delay: the smallest tier ≥ `delayMs`, else the largest. */
  retryQueueFor(
    group: string,
    delayMs: number,
  ): {
    /** The chosen tier's delay (ms), which may differ from the requested one. */
    delayMs: number;
    /** The tier's retry queue. */
    queue: string;
  } {
    const tiers = this.queuesOf(group).retry;
    return tiers.find((tier) => tier.delayMs >= delayMs) ?? tiers[tiers.length - 1]!;
  }

  /** Declares (idempotently) the bus's durable topic exchange on `channel`. */
  async declareExchange(channel: Channel): Promise<void> {
    await channel.assertExchange(this.#options.exchange, 'topic', { durable: true });
  }

  /** Declares (idempotently) every queue of a group and binds its event names. */
  async declareGroup(channel: Channel, group: string, eventNames: readonly string[]): Promise<GroupQueues> {
    const names = this.queuesOf(group);
    const quorum = this.#options.queueType === 'quorum';
    const typeArgs: Record<string, unknown> = quorum ? { 'x-queue-type': 'quorum' } : {};
    await this.declareExchange(channel);
    await channel.assertQueue(names.queue, {
      durable: true,
      arguments: {
        ...typeArgs,
        ...(this.#options.singleActiveConsumer ? { 'x-single-active-consumer': true } : {}),
      },
    });
    for (const name of eventNames) await channel.bindQueue(names.queue, this.#options.exchange, name);
    await channel.assertQueue(names.deadLetter, { durable: true, arguments: typeArgs });
    for (const tier of names.retry) {
      await channel.assertQueue(tier.queue, {
        durable: true,
        arguments: {
          ...typeArgs,
          'x-message-ttl': tier.delayMs,
          // The default exchange routes by queue name: expired copies go back to this group only.
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': names.queue,
          // Quorum queues dead-letter at-most-once unless told otherwise (needs reject-publish overflow).
          ...(quorum ? { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' } : {}),
        },
      });
    }
    return names;
  }
}
