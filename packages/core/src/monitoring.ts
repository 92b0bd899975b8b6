import type { Envelope } from './envelope.js';
import type { Logger } from './ports/logger.js';
import { heraldMetrics } from './telemetry.js';
import type { WireMessage } from './wire.js';

/** Where a sent/received event went through (ABP's DistributedEventSent/Received `Source`). */
export type EventSource = 'direct' | 'outbox' | 'inbox';

/** The monitoring events a bus emits (`bus.on(name, listener)`). */
export interface BusEventMap {
  /** A message was confirmed by the transport. */
  sent: { source: Exclude<EventSource, 'inbox'>; eventName: string; messageId: string; message: WireMessage };
  /** A handler finished an event successfully. */
  received: {
    source: Exclude<EventSource, 'outbox'>;
    eventName: string;
    messageId: string;
    handler: string;
    envelope: Envelope;
  };
  /** A publish or handle attempt failed; `willRetry` tells whether another attempt is planned. */
  failed: {
    stage: 'publish' | 'handle';
    eventName: string;
    messageId: string;
    handler?: string;
    error: unknown;
    attempt: number;
    willRetry: boolean;
    nextAttemptAt?: Date;
  };
  /** A message was given up on, with the reason. */
  'dead-lettered': {
    stage: 'publish' | 'receive' | 'handle';
    eventName?: string;
    messageId?: string;
    handler?: string;
    reason: string;
  };
  /**
   * A delivery on a shared channel (see `IncomingMessage.channelShared`) named an
   * event this group does not handle: acknowledged without handling.
   */
  skipped: { group: string; eventName: string; messageId?: string };
  /** A duplicate delivery was absorbed by the inbox. */
  duplicate: { eventName: string; messageId: string; handler: string };
  /** A background loop hit an infrastructure error (it keeps running and retries). */
  error: { where: string; error: unknown };
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
