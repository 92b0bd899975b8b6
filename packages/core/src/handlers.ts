import type { Envelope } from './envelope.js';
import { ConfigurationError } from './errors.js';
import { describeEvent, type EventDescriptor, type EventType } from './event.js';
import type { PublishOptions } from './publisher.js';

/** What a handler receives besides the event. */
export interface HandlerContext {
  /** The envelope's metadata and raw payload. */
  readonly envelope: Envelope;
  /** The inbox transaction: write through it and your changes commit with the dedup record. */
  readonly tx: unknown;
  /** 1 for the first attempt, counting local and persistent retries. */
  readonly attempt: number;
  /** Aborted when the handler times out or the bus stops. */
  readonly signal: AbortSignal;
  /** The stable name of the running handler. */
  readonly handlerName: string;
  /**
   * Publishes a follow-up event in the same transaction (when the outbox and
   * inbox share a database), with causation and correlation ids set.
   */
  publish(event: object, options?: PublishOptions): Promise<void>;
}

/** A function handler. */
export type HandlerFunction<T> = (event: T, context: HandlerContext) => Promise<void> | void;

/** An object (or class instance) handler. */
export interface HandlerObject<T> {
  /** Handles one event; a throw (or rejection) fails this attempt and follows the retry path. */
  handle(event: T, context: HandlerContext): Promise<void> | void;
}

/** Either form of handler. */
export type Handler<T> = HandlerFunction<T> | HandlerObject<T>;

/** Options for one handler registration. */
export interface HandlerOptions {
  /**
   * Stable name, used as the inbox dedup key: never change it for a deployed
   * handler. Defaults to the function or class name, or to the event name for
   * an anonymous function.
   */
  name?: string;
  /**
   * Consumer group suffix: handlers of a group share one queue / consumer
   * group (`service.group`). Default: the service's own group.
   */
  group?: string;
}

/** A registered handler. */
export interface HandlerRegistration {
  /** The stable name: the inbox dedup key (the option, else the function or class name, else the event name). */
  readonly name: string;
  /** The consumer group: the service's name, or `service.group` with the `group` option. */
  readonly group: string;
  /** The events it handles. */
  readonly events: readonly EventDescriptor[];
  /** Runs the handler (function or object) with the decoded event; rejects when it fails. */
  invoke(event: unknown, context: HandlerContext): Promise<void>;
}

const HANDLER_NAME = /^[A-Za-z0-9][A-Za-z0-9._:\-/#]{0,199}$/;

/** All handlers of a service, indexed by event name. */
export class HandlerRegistry {
  readonly #byName = new Map<string, HandlerRegistration>();
  readonly #byEvent = new Map<string, HandlerRegistration[]>();
  readonly #events = new Map<string, EventDescriptor>();
  /** Names of the events this service publishes (declared, or published since the bus was built). */
  readonly #sent = new Set<string>();
  readonly #service: string;

  constructor(service: string) {
    this.#service = service;
  }

  register<T>(
    types: EventType<T> | readonly EventType<T>[],
    handler: Handler<T>,
    options: HandlerOptions = {},
  ): void {
    const list = (Array.isArray(types) ? types : [types]) as EventType<T>[];
    if (list.length === 0) throw new ConfigurationError('handle() needs at least one event type');
    const descriptors = list.map((type) => describeEvent(type));
    const invoke = toInvoker(handler);
    const name =
      options.name ?? inferName(handler) ?? (descriptors.length === 1 ? descriptors[0]!.name : undefined);
    if (!name) {
      throw new ConfigurationError(
        'An anonymous handler for several events needs a stable { name } (it is the inbox dedup key)',
      );
    }
    if (!HANDLER_NAME.test(name)) throw new ConfigurationError(`Invalid handler name "${name}"`);
    if (this.#byName.has(name)) {
      throw new ConfigurationError(
        `Two handlers are named "${name}". Give one a distinct { name }: it is the inbox dedup key.`,
      );
    }
    const group = options.group ? `${this.#service}.${options.group}` : this.#service;
    const registration: HandlerRegistration = { name, group, events: descriptors, invoke };
    this.#byName.set(name, registration);
    for (const descriptor of descriptors) {
      const known = this.#events.get(descriptor.name);
      if (known && known.type !== descriptor.type) {
        throw new ConfigurationError(`Two different classes use the event name "${descriptor.name}"`);
      }
      this.#events.set(descriptor.name, descriptor);
      const handlers = this.#byEvent.get(descriptor.name) ?? [];
      handlers.push(registration);
      this.#byEvent.set(descriptor.name, handlers);
    }
  }

  /** Makes an event type known as one this service publishes (validated on publish, listed in its catalog). */
  registerEvent(type: EventType): EventDescriptor {
    const descriptor = describeEvent(type);
    const known = this.#events.get(descriptor.name);
    if (known && known.type !== descriptor.type) {
      throw new ConfigurationError(`Two different classes use the event name "${descriptor.name}"`);
    }
    if (!known) this.#events.set(descriptor.name, descriptor);
    this.#sent.add(descriptor.name);
    return descriptor;
  }

  /** Every known event: handled here, published from here, or both. */
  events(): EventDescriptor[] {
    return [...this.#events.values()];
  }

  /** Whether this service publishes the event (declared with `publishes()` or published already). */
  isSent(eventName: string): boolean {
    return this.#sent.has(eventName);
  }

  handlersFor(eventName: string): readonly HandlerRegistration[] {
    return this.#byEvent.get(eventName) ?? [];
  }

  /** Names of every registered handler. */
  handlerNames(): string[] {
    return [...this.#byName.keys()];
  }

  handler(name: string): HandlerRegistration | undefined {
    return this.#byName.get(name);
  }

  descriptor(eventName: string): EventDescriptor | undefined {
    return this.#events.get(eventName);
  }

  /** Subscriptions to open: one per consumer group, with the event names its handlers need. */
  groups(): Map<string, string[]> {
    const groups = new Map<string, Set<string>>();
    for (const registration of this.#byName.values()) {
      const names = groups.get(registration.group) ?? new Set<string>();
      for (const event of registration.events) names.add(event.name);
      groups.set(registration.group, names);
    }
    return new Map([...groups].map(([group, names]) => [group, [...names].sort()]));
  }

  get size(): number {
    return this.#byName.size;
  }
}

function toInvoker<T>(handler: Handler<T>): HandlerRegistration['invoke'] {
  if (typeof handler === 'function') return async (event, context) => handler(event as T, context);
  if (handler && typeof handler.handle === 'function') {
    return async (event, context) => handler.handle(event as T, context);
  }
  throw new ConfigurationError(
    'A handler must be a function or an object with a handle(event, context) method',
  );
}

function inferName(handler: unknown): string | undefined {
  if (typeof handler === 'function') return handler.name || undefined;
  const constructorName = (handler as object | null)?.constructor?.name;
  return constructorName && constructorName !== 'Object' ? constructorName : undefined;
}
