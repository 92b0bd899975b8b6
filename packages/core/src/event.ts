import { ConfigurationError, SchemaValidationError } from './errors.js';
import { copyPayloadInto } from './payload-copy.js';
import type { StandardSchemaV1 } from './standard-schema.js';

/** Turns a payload of version `n` into the shape of version `n + 1`. */
export type Upcaster = (payload: any) => unknown;

/**
 * What Herald needs to know about an event type. Any class works: the name
 * defaults to the class name and can be pinned with a static `eventName`
 * (ABP's `[EventName]`, CAP's topic) so renames and minifiers cannot break the
 * wire contract.
 *
 * ```ts
 * class OrderPlaced {
 *   static readonly eventName = 'ordering.order-placed';
 *   constructor(readonly orderId: string) {}
 * }
 * ```
 */
export interface EventType<T = unknown> {
  new (...args: any[]): T;
  /** Stable wire name. Defaults to the class name. */
  readonly eventName?: string;
  /** Current schema version of the payload (integer ≥ 1). Defaults to 1. */
  readonly eventVersion?: number;
  /** Optional Standard Schema; validated on publish and on receive. */
  readonly schema?: StandardSchemaV1;
  /** `upcasters[n]` lifts a version `n` payload to version `n + 1`. */
  readonly upcasters?: Readonly<Record<number, Upcaster>>;
}

/** The resolved, validated description of an event type. */
export interface EventDescriptor<T = unknown> {
  /** The event class. */
  readonly type: EventType<T>;
  /** The stable wire name: the class's static `eventName`, else its class name. */
  readonly name: string;
  /** The current payload version (integer ≥ 1; default 1). */
  readonly version: number;
  /** The payload's Standard Schema, validated on publish and on receive; undefined when the event has none. */
  readonly schema: StandardSchemaV1 | undefined;
  /** `upcasters[n]` lifts a version `n` payload to `n + 1`; empty when the event has none. */
  readonly upcasters: Readonly<Record<number, Upcaster>>;
}

const EVENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:\-/]{0,199}$/;
const descriptors = new WeakMap<Function, EventDescriptor>();

/** Reads (and caches) the descriptor of an event class, with clear errors for bad declarations. */
export function describeEvent<T>(type: EventType<T>): EventDescriptor<T> {
  const cached = descriptors.get(type);
  if (cached) return cached as EventDescriptor<T>;
  if (typeof type !== 'function') {
    throw new ConfigurationError(`An event type must be a class, got ${typeof type}`);
  }
  const name = type.eventName ?? type.name;
  if (!name || !EVENT_NAME_PATTERN.test(name)) {
    throw new ConfigurationError(
      `Event class "${type.name || '(anonymous)'}" has an invalid event name "${name}". ` +
        'Use letters, digits and . _ : - / (max 200 chars), or set a static eventName.',
    );
  }
  const version = type.eventVersion ?? 1;
  if (!Number.isInteger(version) || version < 1) {
    throw new ConfigurationError(
      `Event "${name}" has an invalid eventVersion ${version}; use an integer ≥ 1`,
    );
  }
  const upcasters = type.upcasters ?? {};
  for (let v = 1; v < version; v++) {
    if (upcasters[v] !== undefined && typeof upcasters[v] !== 'function') {
      throw new ConfigurationError(`Event "${name}" upcaster for version ${v} must be a function`);
    }
  }
  const descriptor: EventDescriptor<T> = { type, name, version, schema: type.schema, upcasters };
  descriptors.set(type, descriptor as EventDescriptor);
  return descriptor;
}

/** The wire name of an event class or instance. */
export function eventNameOf(typeOrEvent: EventType | object): string {
  const type = (typeof typeOrEvent === 'function' ? typeOrEvent : typeOrEvent.constructor) as EventType;
  return describeEvent(type).name;
}

/** Options of {@link defineEvent}. */
export interface DefineEventOptions<S extends StandardSchemaV1 | undefined> {
  /** Standard Schema of the payload (zod, valibot, arktype, …), validated on publish and on receive; also types the payload. Default: none. */
  schema?: S;
  /** Current payload version (integer ≥ 1). Default 1. */
  version?: number;
  /** `upcasters[n]` lifts a version `n` payload to version `n + 1`. Default: none. */
  upcasters?: Record<number, Upcaster>;
}

/** The class produced by {@link defineEvent}: construct it with the payload. */
export interface DefinedEvent<P extends object> extends EventType<P> {
  new (payload: P): P;
  readonly eventName: string;
}

/**
 * Declares an event from a name and an optional Standard Schema; the result
 * is a class, so `new OrderPlaced({ orderId })` works and the payload type is
 * inferred from the schema.
 *
 * ```ts
 * const OrderPlaced = defineEvent('ordering.order-placed', {
 *   schema: z.object({ orderId: z.string() }),
 * });
 * await bus.publish(new OrderPlaced({ orderId: '42' }));
 * ```
 */
export function defineEvent<P extends object = Record<string, unknown>>(name: string): DefinedEvent<P>;
export function defineEvent<S extends StandardSchemaV1>(
  name: string,
  options: DefineEventOptions<S> & { schema: S },
): DefinedEvent<StandardSchemaV1.InferOutput<S> & object>;
export function defineEvent<P extends object = Record<string, unknown>>(
  name: string,
  options: DefineEventOptions<undefined>,
): DefinedEvent<P>;
export function defineEvent(
  name: string,
  options: DefineEventOptions<StandardSchemaV1 | undefined> = {},
): DefinedEvent<object> {
  const defined = class {
    static readonly eventName = name;
    static readonly eventVersion = options.version ?? 1;
    static readonly schema = options.schema;
    static readonly upcasters = options.upcasters ?? {};
    constructor(payload: object) {
      copyPayloadInto(this, payload);
    }
  };
  Object.defineProperty(defined, 'name', { value: name.replace(/[^A-Za-z0-9_$]/g, '_') });
  describeEvent(defined as unknown as EventType);
  return defined as unknown as DefinedEvent<object>;
}

/** Plain data of an event instance: its own enumerable properties, as JSON would see them. */
export function payloadOf(event: object): unknown {
  return { ...event };
}

/**
 * Rebuilds an event instance from decoded data without running its constructor.
 * Properties are defined, not assigned, and `__proto__`, `constructor` and
 * `prototype` keys are dropped at every depth, so hostile input cannot swap
 * the instance's (or a nested object's) prototype or shadow its class.
 */
export function instantiate<T>(type: EventType<T>, payload: unknown): T {
  const target = Object.create(type.prototype) as T;
  copyPayloadInto(target as object, payload);
  return target;
}

/** Validates `value` against the event's schema, returning the schema's output. */
export async function validatePayload(descriptor: EventDescriptor, value: unknown): Promise<unknown> {
  if (!descriptor.schema) return value;
  let result = descriptor.schema['~standard'].validate(value);
  if (result instanceof Promise) result = await result;
  if (result.issues) {
    throw new SchemaValidationError(
      descriptor.name,
      result.issues.map((issue) => ({
        message: issue.message,
        path: issue.path?.map((segment) =>
          typeof segment === 'object' && segment !== null ? segment.key : segment,
        ),
      })),
    );
  }
  return result.value;
}
