import {
  type Attributes,
  type BatchObservableResult,
  type Context,
  context,
  type Link,
  type Meter,
  type MeterProvider,
  metrics,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { Envelope } from './envelope.js';
import { describeError } from './errors.js';
import type { WireMessage } from './wire.js';

/**
 * OpenTelemetry instrumentation through `@opentelemetry/api` only: without an
 * SDK registered every call is a no-op. Spans follow the messaging semantic
 * conventions: `create` at publish (inside the business transaction), `send`
 * per relayed batch (linked to each message's creation), and `process` per
 * handler run (child of the publisher's context carried in `traceparent`).
 */
const tracer = trace.getTracer('@herald/core');

function createInstruments(meter: Meter) {
  return {
    published: meter.createCounter('herald.messages.published', {
      description: 'Events accepted by publish()',
    }),
    sent: meter.createCounter('herald.messages.sent', { description: 'Messages confirmed by the transport' }),
    handled: meter.createCounter('herald.messages.handled', { description: 'Successful handler runs' }),
    retried: meter.createCounter('herald.messages.retried', {
      description: 'Failed attempts that will be retried',
    }),
    deadLettered: meter.createCounter('herald.messages.dead_lettered', {
      description: 'Messages given up on',
    }),
    duplicates: meter.createCounter('herald.inbox.duplicates', {
      description: 'Duplicate deliveries absorbed by the inbox',
    }),
    handlerDuration: meter.createHistogram('herald.handler.duration', {
      description: 'Handler run time',
      unit: 'ms',
    }),
    backlog: meter.createObservableGauge('herald.outbox.backlog', {
      description: 'Outbox records not yet published',
    }),
    oldestPending: meter.createObservableGauge('herald.outbox.oldest_pending_age', {
      description: 'Age of the oldest unpublished outbox record',
      unit: 's',
    }),
  };
}

// The metrics API has no proxy provider: instruments made before an SDK is
// registered stay no-ops, so they are (re)made whenever the global provider changes.
let instrumentsProvider: MeterProvider | undefined;
let instruments: ReturnType<typeof createInstruments> | undefined;

/** Herald's instruments on the current global meter provider; names under `herald.`. */
export function heraldMetrics(): ReturnType<typeof createInstruments> {
  const provider = metrics.getMeterProvider();
  if (!instruments || provider !== instrumentsProvider) {
    instrumentsProvider = provider;
    instruments = createInstruments(provider.getMeter('@herald/core'));
  }
  return instruments;
}

/** Registers the outbox backlog gauges for one bus; returns the unregister function. */
export function observeBacklog(
  service: string,
  read: () => Promise<{ pending: number; oldestAgeSeconds: number }>,
): () => void {
  const meter = metrics.getMeterProvider().getMeter('@herald/core');
  const { backlog, oldestPending } = heraldMetrics();
  const callback = async (result: BatchObservableResult) => {
    const value = await read().catch(() => undefined);
    if (!value) return;
    result.observe(backlog, value.pending, { 'herald.service': service });
    result.observe(oldestPending, value.oldestAgeSeconds, { 'herald.service': service });
  };
  meter.addBatchObservableCallback(callback, [backlog, oldestPending]);
  return () => meter.removeBatchObservableCallback(callback, [backlog, oldestPending]);
}

const getter = {
  keys: (carrier: Readonly<Record<string, string>>) => Object.keys(carrier),
  get: (carrier: Readonly<Record<string, string>>, key: string) => carrier[key],
};

/** The remote context carried by a message's headers. */
export function extractContext(headers: Readonly<Record<string, string>>): Context {
  return propagation.extract(context.active(), headers, getter);
}

/**
 * Starts the `create` span of a publish and returns the trace headers to
 * store in the envelope (when the caller did not set its own traceparent).
 */
export function startCreateSpan(
  eventName: string,
  service: string,
): { span: Span; traceparent?: string; tracestate?: string } {
  const span = tracer.startSpan(`create ${eventName}`, {
    kind: SpanKind.PRODUCER,
    attributes: {
      'messaging.operation.type': 'create',
      'messaging.operation.name': 'create',
      'messaging.destination.name': eventName,
      'herald.service': service,
    },
  });
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  return {
    span,
    ...(carrier.traceparent ? { traceparent: carrier.traceparent } : {}),
    ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}),
  };
}

/** Runs a relay batch send inside a `send` span linked to every message's creation context. */
export async function inSendSpan<T>(
  transportName: string,
  messages: readonly WireMessage[],
  work: () => Promise<T>,
): Promise<T> {
  const links: Link[] = [];
  for (const message of messages) {
    const spanContext = trace.getSpanContext(extractContext(message.headers));
    if (spanContext) links.push({ context: spanContext });
  }
  const name = messages.length === 1 ? `send ${messages[0]!.name}` : 'send';
  return tracer.startActiveSpan(
    name,
    {
      kind: SpanKind.PRODUCER,
      links,
      attributes: {
        'messaging.system': transportName,
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        'messaging.batch.message_count': messages.length,
        ...(messages.length === 1
          ? { 'messaging.message.id': messages[0]!.id, 'messaging.destination.name': messages[0]!.name }
          : {}),
      },
    },
    async (span) => {
      try {
        return await work();
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** Runs a handler inside a `process` span whose parent is the publisher's context. */
export async function inProcessSpan<T>(
  envelope: Envelope,
  handler: string,
  group: string,
  attempt: number,
  work: () => Promise<T>,
): Promise<T> {
  const parent = extractContext(
    envelope.traceparent
      ? {
          traceparent: envelope.traceparent,
          ...(envelope.tracestate ? { tracestate: envelope.tracestate } : {}),
        }
      : {},
  );
  const attributes: Attributes = {
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.name': envelope.name,
    'messaging.message.id': envelope.id,
    'messaging.consumer.group.name': group,
    'herald.handler': handler,
    'herald.attempt': attempt,
    ...(envelope.correlationId ? { 'messaging.message.conversation_id': envelope.correlationId } : {}),
  };
  const started = performance.now();
  return tracer.startActiveSpan(
    `process ${envelope.name}`,
    { kind: SpanKind.CONSUMER, attributes },
    parent,
    async (span) => {
      try {
        const result = await work();
        heraldMetrics().handled.add(1, {
          'messaging.destination.name': envelope.name,
          'herald.handler': handler,
        });
        return result;
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
        throw error;
      } finally {
        heraldMetrics().handlerDuration.record(performance.now() - started, { 'herald.handler': handler });
        span.end();
      }
    },
  );
}
