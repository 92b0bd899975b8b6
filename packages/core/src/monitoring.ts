import type { Envelope } from './envelope.js';
import type { Logger } from './ports/logger.js';
import { heraldMetrics } from './telemetry.js';
import type { WireMessage } from './wire.js';

/** Where a sent/received event went through (ABP's DistributedEventSent/Received `Source`). */
export type EventSource = 'direct' | 'outbox' | 'inbox';

/** The monitoring events a bus emits (`bus.on(name, listener)`). */
export interface BusEventMap {
  /** A message was confirmed by the transport. */
  sent: {
    /** `outbox`: sent by the relay; `direct`: published with `useOutbox: false`. */
    source: Exclude<EventSource, 'inbox'>;
    /** The event's name. */
    eventName: string;
    /** The message id. */
    messageId: string;
    /** The message as sent (headers and encoded body). */
    message: WireMessage;
  };
  /** A handler finished an event successfully. */
  received: {
    /** `inbox`: handled through the inbox (a delivery or a stored retry); `direct`: run inline by the publishing bus. */
    source: Exclude<EventSource, 'outbox'>;
    /** The event's name. */
    eventName: string;
    /** The message id. */
    messageId: string;
    /** The stable name of the handler that finished. */
    handler: string;
    /** The handled message's envelope (payload included). */
    envelope: Envelope;
  };
  /** A publish or handle attempt failed; `willRetry` tells whether another attempt is planned. */
  failed: {
    /** `publish`: the relay's send failed; `handle`: a handler threw or timed out. */
    stage: 'publish' | 'handle';
    /** The event's name. */
    eventName: string;
    /** The message id. */
    messageId: string;
    /** The handler's stable name (stage `handle` only). */
    handler?: string;
    /** What was thrown. */
    error: unknown;
    /** The number of the attempt that failed (1 for the first), local retries included. */
    attempt: number;
    /** Whether another attempt is planned; false means the message goes to the dead letters next. */
    willRetry: boolean;
    /** When the next attempt is due, when the emitter knows it; optional (core's relay and inbox leave it out). */
    nextAttemptAt?: Date;
  };
  /** A message was given up on, with the reason. */
  'dead-lettered': {
    /** `publish`: the outbox gave up sending; `receive`: the delivery could not be decoded or routed; `handle`: retries ran out. */
    stage: 'publish' | 'receive' | 'handle';
    /** The event's name; absent when an unreadable delivery did not say. */
    eventName?: string;
    /** The message id; absent when an unreadable delivery did not say. */
    messageId?: string;
    /** The handler's stable name (stage `handle` only). */
    handler?: string;
    /** Why it was given up on (stored with the dead letter). */
    reason: string;
  };
  /**
   * A delivery on a shared channel (see `IncomingMessage.channelShared`) named an
   * event this group does not handle: acknowledged without handling.
   */
  skipped: {
    /** The consumer group that received it. */
    group: string;
    /** The event name it carried. */
    eventName: string;
    /** Its message id, when it carried one. */
    messageId?: string;
  };
  /** A duplicate delivery was absorbed by the inbox. */
  duplicate: {
    /** The event's name. */
    eventName: string;
    /** The message id already recorded for this handler. */
    messageId: string;
    /** The handler's stable name. */
    handler: string;
  };
  /** A background loop hit an infrastructure error (it keeps running and retries). */
  error: {
    /** Which loop and store, e.g. `outbox relay "Default"` or `cleanup of prisma-postgresql`. */
    where: string;
    /** What was thrown. */
    error: unknown;
  };
}

/** The name of a monitoring event `bus.on(name, listener)` accepts. */
export type BusEventName = keyof BusEventMap;
/** A listener of one monitoring event, called synchronously when the bus emits it. */
export type BusEventListener<K extends BusEventName> = (event: BusEventMap[K]) => void;

function countMetric<K extends BusEventName>(name: K, event: BusEventMap[K]): void {
  const e = event as Partial<{ eventName: string; stage: string; willRetry: boolean }>;
  const attributes = { 'messaging.destination.name': e.eventName ?? 'unknown' };
  // `sent` is counted where it happens: the relay emits it only when someone listens.
  if (name === 'duplicate') heraldMetrics().duplicates.add(1, attributes);
  else if (name === 'dead-lettered')
    heraldMetrics().deadLettered.add(1, { ...attributes, 'herald.stage': e.stage ?? 'unknown' });
  else if (name === 'failed' && e.willRetry)
    heraldMetrics().retried.add(1, { ...attributes, 'herald.stage': e.stage ?? 'unknown' });
}

/** Typed, synchronous event emitter whose listeners can never break the data path. */
export class Monitor {
  readonly #listeners = new Map<BusEventName, Set<(event: never) => void>>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  on<K extends BusEventName>(name: K, listener: BusEventListener<K>): () => void {
    const set = this.#listeners.get(name) ?? new Set<(event: never) => void>();
    this.#listeners.set(name, set);
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  hasListeners(name: BusEventName): boolean {
    return (this.#listeners.get(name)?.size ?? 0) > 0;
  }

  emit<K extends BusEventName>(name: K, event: BusEventMap[K]): void {
    countMetric(name, event);
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as BusEventListener<K>)(event);
      } catch (error) {
        this.#logger.error(`A "${name}" listener threw; ignoring`, { error });
      }
    }
  }
}
