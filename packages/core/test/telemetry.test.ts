import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineEvent, InProcessBroker } from '../src/index.js';
import { testBuilder } from './helpers.js';

const exporter = new InMemorySpanExporter();
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const metricReader = new PeriodicExportingMetricReader({
  exporter: metricExporter,
  exportIntervalMillis: 60_000,
});
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  contextManager.enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [metricReader] }));
});
afterAll(() => {
  trace.disable();
  metrics.disable();
  propagation.disable();
  context.disable();
});

const OrderPlaced = defineEvent<{ orderId: string }>('ordering.order-placed');

describe('OpenTelemetry', () => {
  it('links publish → send → process → handler work in one trace, and counts', async () => {
    const broker = new InProcessBroker();
    const tracer = trace.getTracer('test');
    const consumer = testBuilder('billing', broker)
      .handle(OrderPlaced, async () => {
        tracer.startSpan('charge card').end(); // the handler's own work nests under "process"
      })
      .build();
    const producer = testBuilder('ordering', broker).build();
    await consumer.start();
    await producer.start();

    await tracer.startActiveSpan('POST /orders', async (request) => {
      await producer.publish(new OrderPlaced({ orderId: '1' }));
      request.end();
    });
    await producer.drain();
    await consumer.drain();
    await producer.stop();
    await consumer.stop();

    const spans = exporter.getFinishedSpans();
    const byName = (name: string) => spans.find((span) => span.name === name)!;
    const request = byName('POST /orders');
    const create = byName('create ordering.order-placed');
    const send = byName('send ordering.order-placed');
    const process = byName('process ordering.order-placed');
    const work = byName('charge card');
    const traceId = request.spanContext().traceId;
    expect(create.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(process.spanContext().traceId).toBe(traceId);
    expect(process.parentSpanContext?.spanId).toBe(create.spanContext().spanId);
    expect(work.parentSpanContext?.spanId).toBe(process.spanContext().spanId);
    expect(send.links.map((link) => link.context.spanId)).toContain(create.spanContext().spanId);
    expect(process.attributes['messaging.consumer.group.name']).toBe('billing');

    const collected = await metricReader.collect();
    const names = collected.resourceMetrics.scopeMetrics.flatMap((scope) =>
      scope.metrics.map((m) => m.descriptor.name),
    );
    expect(names).toEqual(
      expect.arrayContaining([
        'herald.messages.published',
        'herald.messages.sent',
        'herald.messages.handled',
        'herald.handler.duration',
      ]),
    );
  });
});
