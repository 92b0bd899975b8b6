// One service of the cross-process tracing test: registers an OpenTelemetry SDK with an
// in-memory exporter, runs a Herald bus on Kafka, and writes its finished spans as JSON.
import { writeFileSync } from 'node:fs';
import { createIntegrationEventBus, defineEvent, silentLogger } from '@herald/core';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { kafkaTransport } from '../../src/index.js';

const [role, runId, outFile] = process.argv.slice(2) as ['producer' | 'consumer', string, string];
const brokers = (process.env.HERALD_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

const exporter = new InMemorySpanExporter();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
);

const OrderPlaced = defineEvent<{ orderId: string }>(`tracing-${runId}.order-placed`);

function dump(): void {
  const spans = exporter.getFinishedSpans().map((span) => ({
    name: span.name,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    links: span.links.map((link) => link.context.spanId),
  }));
  writeFileSync(outFile, JSON.stringify(spans));
}

const transport = kafkaTransport({
  brokers,
  clientId: `tracing-${runId}-${role}`,
  topicPrefix: `herald-test-${runId}.`,
  startTimeout: 10_000,
  topics: { declare: [OrderPlaced.eventName] },
  consumer: { sessionTimeout: 6_000, heartbeatInterval: 300, rebalanceTimeout: 8_000, maxWaitTimeInMs: 100 },
});

if (role === 'consumer') {
  const bus = createIntegrationEventBus({ service: `billing-${runId}`, logger: silentLogger })
    .useTransport(transport)
    .handle(OrderPlaced, async () => {
      trace.getTracer('billing').startSpan('charge card').end();
      setTimeout(async () => {
        await bus.stop();
        dump();
        process.exit(0);
      }, 50);
    })
    .build();
  await bus.start();
  process.send?.('ready');
} else {
  const bus = createIntegrationEventBus({ service: `ordering-${runId}`, logger: silentLogger })
    .useTransport(transport)
    .build();
  await bus.start();
  await trace.getTracer('ordering').startActiveSpan('POST /orders', async (span) => {
    await bus.publish(new OrderPlaced({ orderId: 'o-1' }));
    span.end();
  });
  await bus.drain({ timeoutMs: 20_000 });
  await bus.stop();
  dump();
  process.exit(0);
}
