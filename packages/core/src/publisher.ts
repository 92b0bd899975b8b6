import { type Span, SpanStatusCode } from '@opentelemetry/api';
import { ambientContext } from './context/ambient-context.js';
import { type PublishFilter, type PublishFilterContext, runPublishFilters } from './context/filters.js';
import { deliveryTimeOf } from './delivery-time.js';
import type { Envelope, EnvelopeOverrides } from './envelope.js';
import { ConfigurationError, describeError, HeraldError, TransportError } from './errors.js';
import { type EventDescriptor, type EventType, payloadOf, validatePayload } from './event.js';
import type { EventLogConfig } from './event-log.js';
import { routeByTenant } from './event-log-routing.js';
import type { Monitor } from './monitoring.js';
import type { Transport } from './ports/transport.js';
import type { UnitOfWorkAccessor, UnitOfWorkScope } from './ports/unit-of-work.js';
import type { PublishOptions } from './publish-options.js';
import { bucketOf } from './runtime/bucket.js';
import type { Serializer } from './serializer.js';
import { heraldMetrics, startCreateSpan } from './telemetry.js';
import { isUuid, uuidv7 } from './uuid.js';
import { isReservedHeader, toWire, WireHeaders, type WireMessage } from './wire.js';

export type { PublishOptions } from './publish-options.js';

/** The envelope's ordering key: fixed for the call, or computed per event. */
function orderingKeyOf(event: object, options: PublishOptions | EnvelopeOverrides): { orderingKey?: string } {
  const key = (options as PublishOptions).orderingKey;
  const value = typeof key === 'function' ? key(event) : key;
  if (value === undefined) return {};
  if (typeof value !== 'string') throw new ConfigurationError('orderingKey must be a string');
  return { orderingKey: value };
}

/** An event ready to leave: validated, enveloped and encoded. */
export interface PreparedEvent {
  /** The event's definition (name, version, schema). */
  readonly descriptor: EventDescriptor;
  /** The envelope built for it: id, metadata and the validated payload. */
  readonly envelope: Envelope;
  /** The envelope encoded for the outbox and the transport. */
  readonly message: WireMessage;
  /** The OpenTelemetry `create` span (ended when publish returns). */
  readonly span?: Span;
}

/** What the publisher needs from the bus. */
export interface PublisherDeps {
  readonly service: string;
  /** The owning bus's instance id (marks inline-dispatched messages). */
  readonly instanceId: string;
  readonly serializer: Serializer;
  readonly transport: Transport;
  readonly eventLogs: readonly EventLogConfig[];
  readonly unitOfWork: UnitOfWorkAccessor | undefined;
  readonly monitor: Monitor;
  /**
   * Called after records were written: `committed` false means "the caller's
   * tx may not have committed yet"; `dueAt` is set for a delayed publish.
   */
  readonly onStored: (config: EventLogConfig, committed: boolean, dueAt?: Date) => void;
  /** In-process monolith mode: run handlers inside the unit of work instead of going through the outbox. */
  readonly inlineDispatch: ((events: readonly PreparedEvent[], tx: unknown) => Promise<void>) | undefined;
  readonly knownEvent: (type: EventType) => EventDescriptor;
  /** Run on every published event, in order, before it is enveloped. */
  readonly publishFilters: readonly PublishFilter[];
}

/**
 * The first arrow of the data path: validates events, builds envelopes and
 * writes them to the outbox in the caller's transaction (or hands them to the
 * unit of work, or straight to the transport when asked).
 */
export class Publisher {
  readonly #deps: PublisherDeps;

  constructor(deps: PublisherDeps) {
    this.#deps = deps;
  }

  async publish(events: object | readonly object[], options: PublishOptions = {}): Promise<void> {
    const list = Array.isArray(events) ? events : [events];
    if (list.length === 0) return;
    const dueAt = deliveryTimeOf(options);
    if (dueAt) this.#checkDelayable(options);
    const prepared = await Promise.all(list.map((event) => this.prepare(event as object, options)));
    try {
      await this.#route(prepared, options, dueAt);
      heraldMetrics().published.add(prepared.length);
    } catch (error) {
      for (const item of prepared)
        item.span?.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
      throw error;
    } finally {
      for (const item of prepared) item.span?.end();
    }
  }

  /** A delayed publish needs the outbox: refuse the direct path before anything happens. */
  #checkDelayable(options: PublishOptions): void {
    if (options.useOutbox === false) {
      throw new ConfigurationError(
        'deliverAt/delay need the outbox; they cannot be used with useOutbox: false',
      );
    }
  }

  async #route(prepared: readonly PreparedEvent[], options: PublishOptions, dueAt?: Date): Promise<void> {
    const scope = options.tx === undefined ? this.#deps.unitOfWork?.current() : undefined;
    if (options.useOutbox === false) {
      // ABP: even without the outbox, publishing waits for the unit of work to complete.
      if (scope && options.onUnitOfWorkComplete !== false) {
        scope.beforeComplete(() => this.#sendDirect(prepared));
        return;
      }
      return this.#sendDirect(prepared);
    }

    if (scope && options.onUnitOfWorkComplete !== false) {
      scope.beforeComplete(() => this.#storeInScope(prepared, scope, dueAt));
      return;
    }
    if (scope) return this.#storeInScope(prepared, scope, dueAt);
    const ambient = this.#deps.unitOfWork?.current();
    const configs = await this.#store(prepared, options.tx, options.tx === undefined, dueAt);
    // The caller's tx is the unit of work's: wake the relay exactly when it commits.
    if (ambient && options.tx !== undefined && options.tx === ambient.tx) {
      ambient.afterCommit(() => {
        for (const config of configs) this.#deps.onStored(config, true, dueAt);
      });
    }
  }

  /** Validates and encodes one event. Throws typed errors for bad input. */
  async prepare(event: object, options: PublishOptions = {}): Promise<PreparedEvent> {
    if (event === null || typeof event !== 'object') {
      throw new ConfigurationError(
        `publish() expects an event object, got ${event === null ? 'null' : typeof event}`,
      );
    }
    const descriptor = this.#deps.knownEvent(event.constructor as EventType);
    const payload = await validatePayload(descriptor, payloadOf(event));
    // The publisher's ambient tenant and correlation are stamped unless the call gives them (even as undefined).
    const ambient = ambientContext.current();
    const publishing: PublishFilterContext = {
      event,
      eventName: descriptor.name,
      headers: { ...(options.headers ?? {}) },
      tenantId: 'tenantId' in options ? options.tenantId : ambient.tenantId,
      correlationId: 'correlationId' in options ? options.correlationId : ambient.correlationId,
    };
    await runPublishFilters(this.#deps.publishFilters, publishing);
    const { headers, tenantId, correlationId } = publishing;
    if (tenantId !== undefined && typeof tenantId !== 'string')
      throw new ConfigurationError('tenantId must be a string');
    if (correlationId !== undefined && typeof correlationId !== 'string')
      throw new ConfigurationError('correlationId must be a string');
    const telemetry =
      options.traceparent === undefined ? startCreateSpan(descriptor.name, this.#deps.service) : undefined;
    for (const [key, value] of Object.entries(headers)) {
      if (isReservedHeader(key)) throw new ConfigurationError(`Header "${key}" is reserved by Herald`);
      if (typeof value !== 'string') throw new ConfigurationError(`Header "${key}" must be a string`);
    }
    if (options.id !== undefined && !isUuid(options.id)) {
      throw new ConfigurationError(`Message id "${options.id}" is not a UUID`);
    }
    const envelope: Envelope = {
      id: options.id ?? uuidv7(),
      name: descriptor.name,
      version: descriptor.version,
      occurredAt: new Date().toISOString(),
      source: this.#deps.service,
      ...(correlationId !== undefined ? { correlationId } : {}),
      ...(options.causationId !== undefined ? { causationId: options.causationId } : {}),
      ...(tenantId !== undefined ? { tenantId } : {}),
      ...(options.traceparent !== undefined ? { traceparent: options.traceparent } : {}),
      ...(options.tracestate !== undefined ? { tracestate: options.tracestate } : {}),
      ...(telemetry?.traceparent !== undefined ? { traceparent: telemetry.traceparent } : {}),
      ...(telemetry?.tracestate !== undefined ? { tracestate: telemetry.tracestate } : {}),
      ...orderingKeyOf(event, options),
      headers: { ...headers },
      payload,
    };
    telemetry?.span.setAttribute('messaging.message.id', envelope.id);
    try {
      return {
        descriptor,
        envelope,
        message: toWire(envelope, this.#deps.serializer),
        ...(telemetry ? { span: telemetry.span } : {}),
      };
    } catch (error) {
      telemetry?.span.end();
      throw error;
    }
  }

  async #storeInScope(
    prepared: readonly PreparedEvent[],
    scope: UnitOfWorkScope,
    dueAt: Date | undefined,
  ): Promise<void> {
    if (this.#deps.inlineDispatch && dueAt) {
      // Monolith mode, delayed: nothing runs inline now; once the unit of work has committed the
      // record is stored (unmarked), and every bus — this one included — handles it when due.
      scope.afterCommit(() => {
        this.#store(prepared, undefined, true, dueAt).catch((error) =>
          this.#deps.monitor.emit('error', { where: 'delayed publish after commit', error }),
        );
      });
      return;
    }
    if (this.#deps.inlineDispatch) {
      // Monolith mode: this bus's handlers run now, inside the unit of work; once it has
      // committed, the events still travel to every other bus on the broker.
      await this.#deps.inlineDispatch(prepared, scope.tx);
      const marked = prepared.map((item) => ({
        ...item,
        message: {
          ...item.message,
          headers: { ...item.message.headers, [WireHeaders.handledInlineBy]: this.#deps.instanceId },
        },
      }));
      scope.afterCommit(() => {
        this.#store(marked, undefined, true).catch((error) =>
          this.#deps.monitor.emit('error', { where: 'publish after commit', error }),
        );
      });
      return;
    }
    const configs = await this.#store(prepared, scope.tx, false, dueAt);
    scope.afterCommit(() => {
      for (const config of configs) this.#deps.onStored(config, true, dueAt);
    });
  }

  async #store(
    prepared: readonly PreparedEvent[],
    tx: unknown,
    ownTransaction: boolean,
    dueAt?: Date,
  ): Promise<EventLogConfig[]> {
    const byConfig = new Map<EventLogConfig, PreparedEvent[]>();
    for (const item of prepared) {
      const config = this.#outboxFor(item.descriptor, item.envelope.tenantId);
      const list = byConfig.get(config) ?? [];
      list.push(item);
      byConfig.set(config, list);
    }
    if (tx !== undefined && byConfig.size > 1) {
      throw new ConfigurationError(
        'One transaction cannot write to several outboxes; publish these events in separate calls',
      );
    }
    for (const [config, items] of byConfig) {
      const outbox = config.outbox!;
      if (tx !== undefined && !outbox.transactional) {
        throw new ConfigurationError(
          `Outbox "${config.name}" (${outbox.name}) cannot join a caller's transaction`,
        );
      }
      await outbox.add(
        items.map((item) => ({
          message: item.message,
          bucket: bucketOf(item.envelope.orderingKey ?? item.envelope.id),
          ...(dueAt ? { nextAttemptAt: dueAt } : {}),
        })),
        tx,
      );
      this.#deps.onStored(config, ownTransaction, dueAt);
    }
    return [...byConfig.keys()];
  }

  #outboxFor(descriptor: EventDescriptor, tenantId: string | undefined): EventLogConfig {
    const config = routeByTenant(
      this.#deps.eventLogs.filter((candidate) => candidate.outbox && candidate.selector(descriptor)),
      tenantId,
    );
    if (!config) {
      throw new ConfigurationError(
        `No outbox accepts event "${descriptor.name}"${tenantId === undefined ? '' : ` of tenant "${tenantId}"`}; ` +
          'check the event-log selectors and tenants',
      );
    }
    return config;
  }

  async #sendDirect(prepared: readonly PreparedEvent[]): Promise<void> {
    const outcomes = await this.#deps.transport
      .publish(prepared.map((item) => item.message))
      .catch((error) => {
        throw error instanceof HeraldError
          ? error
          : new TransportError(describeError(error), { cause: error });
      });
    const failed = outcomes.filter((outcome) => !outcome.ok);
    heraldMetrics().sent.add(outcomes.length - failed.length, {
      'messaging.system': this.#deps.transport.name,
    });
    for (const item of prepared) {
      if (outcomes.find((outcome) => outcome.id === item.message.id)?.ok) {
        this.#deps.monitor.emit('sent', {
          source: 'direct',
          eventName: item.message.name,
          messageId: item.message.id,
          message: item.message,
        });
      }
    }
    if (failed.length > 0) {
      const first = failed[0] as { error: unknown };
      throw new TransportError(
        `${failed.length} of ${prepared.length} messages were not confirmed: ${describeError(first.error)}`,
        {
          cause: first.error,
        },
      );
    }
  }
}
