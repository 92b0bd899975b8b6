import {
  createIntegrationEventBus,
  defineEvent,
  type StandardSchemaV1,
  silentLogger,
  WireHeaders,
} from '@herald/core';
import { azureServiceBusTransport } from '@herald/transport-azure';
import { kafkaTransport } from '@herald/transport-kafka';
import { rabbitMqTransport } from '@herald/transport-rabbit';
import { describe, expect, it } from 'vitest';
import { type ContractDocument, ContractError, exportContracts, readContract } from '../src/index.js';
import { asyncApiErrors, orderingBuilder } from './helpers.js';

const channelOf = (doc: ContractDocument, eventName: string) =>
  Object.values(doc.channels).find((channel) => channel.title === eventName)!;
const messageOf = (doc: ContractDocument, eventName: string) =>
  Object.values(channelOf(doc, eventName).messages)[0]!;

describe('exportContracts', () => {
  it('writes an AsyncAPI 3.0 document that @asyncapi/parser accepts without errors', async () => {
    const doc = await exportContracts(orderingBuilder(), { version: '2.1.0' });
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc.info).toMatchObject({ title: 'ordering', version: '2.1.0', 'x-herald-service': 'ordering' });
    expect(await asyncApiErrors(doc)).toEqual([]);
  });

  it('the parser check can fail: a broken document has errors', async () => {
    const doc = structuredClone(await exportContracts(orderingBuilder())) as any;
    const first = Object.keys(doc.operations)[0] as string;
    doc.operations[first].action = 'publish'; // AsyncAPI 2 wording, not valid in 3.0
    doc.operations[first].channel = { $ref: '#/channels/nowhere' };
    expect((await asyncApiErrors(doc)).length).toBeGreaterThan(0);
  });

  it('describes zod and valibot payloads as JSON Schema, and an event without a schema says so', async () => {
    const doc = await exportContracts(orderingBuilder());
    const placed = messageOf(doc, 'ordering.order-placed');
    expect(placed.payload).toMatchObject({
      type: 'object',
      properties: { orderId: { type: 'string' }, status: { enum: ['new', 'paid'] } },
      required: ['orderId', 'total', 'status'],
    });
    expect(placed.payload).not.toHaveProperty('$schema');
    expect(placed['x-herald-event']).toMatchObject({ schema: 'json-schema', vendor: 'zod' });
    const reserved = messageOf(doc, 'catalog.stock-reserved');
    expect(reserved.payload).toMatchObject({
      type: 'object',
      properties: { sku: { type: 'string' }, quantity: { type: 'number' }, warehouse: { type: 'string' } },
      required: ['sku', 'quantity'],
    });
    expect(reserved['x-herald-event']).toMatchObject({ schema: 'json-schema', vendor: 'valibot' });
    const audit = messageOf(doc, 'audit/noted');
    expect(audit['x-herald-event'].schema).toBe('none');
    expect(audit.summary).toContain('No schema declared');
  });

  it('records versions and upcasters', async () => {
    const doc = await exportContracts(orderingBuilder());
    const placed = messageOf(doc, 'ordering.order-placed');
    expect(placed['x-herald-event']).toMatchObject({
      name: 'ordering.order-placed',
      version: 2,
      upcasters: [1],
    });
    expect(placed.title).toBe('ordering.order-placed v2');
    expect(placed.summary).toContain('v1→v2');
  });

  it('carries the envelope headers as a message trait', async () => {
    const doc = await exportContracts(orderingBuilder());
    expect(messageOf(doc, 'ordering.order-placed').traits).toEqual([
      { $ref: '#/components/messageTraits/HeraldEnvelope' },
    ]);
    const headers = (
      doc.components.messageTraits.HeraldEnvelope as { headers: { properties: object; required: string[] } }
    ).headers;
    for (const name of Object.values(WireHeaders)) expect(headers.properties).toHaveProperty([name]);
    expect(headers.required).toEqual(
      expect.arrayContaining([WireHeaders.id, WireHeaders.name, WireHeaders.version]),
    );
  });

  it('lists a send operation per published event and a receive operation per handler with its group', async () => {
    const doc = await exportContracts(orderingBuilder());
    const ops = Object.values(doc.operations).map((op) => [
      op.action,
      op['x-herald-event'],
      op['x-herald-handler'],
    ]);
    expect(ops).toEqual(
      expect.arrayContaining([
        ['send', 'ordering.order-placed', undefined],
        ['send', 'audit/noted', undefined],
        ['receive', 'catalog.stock-reserved', { name: 'ordering.reserve', group: 'ordering' }],
        ['receive', 'catalog.stock-reserved', { name: 'ordering.report', group: 'ordering.reports' }],
      ]),
    );
    expect(ops).toHaveLength(4);
    // Keys are legal AsyncAPI ids even for names with "/".
    for (const key of [...Object.keys(doc.channels), ...Object.keys(doc.operations)]) {
      expect(key).toMatch(/^[A-Za-z0-9_.-]+$/);
    }
    const model = readContract(doc);
    expect(model.events.get('ordering.order-placed')?.sent).toBe(true);
    expect(model.events.get('catalog.stock-reserved')?.handlers).toHaveLength(2);
  });

  it('names Kafka channels and consumer groups as the Kafka transport does', async () => {
    const transport = kafkaTransport({
      brokers: ['127.0.0.1:9092'],
      clientId: 'ordering',
      topicPrefix: 'prod.',
    });
    const doc = await exportContracts(orderingBuilder().useTransport(transport));
    const channel = channelOf(doc, 'ordering.order-placed');
    expect(channel.address).toBe(transport.options.topicFor('ordering.order-placed'));
    expect(channel.address).toBe('prod.ordering.order-placed');
    expect(channel.bindings).toEqual({
      kafka: { topic: 'prod.ordering.order-placed', bindingVersion: '0.5.0' },
    });
    expect(channelOf(doc, 'audit/noted').address).toBe(transport.options.topicFor('audit/noted'));
    const receive = Object.values(doc.operations).find(
      (op) => op['x-herald-handler']?.name === 'ordering.report',
    )!;
    expect(receive['x-herald-consumer']).toMatchObject({ name: 'ordering.reports', kind: 'consumer-group' });
    expect(receive.bindings).toMatchObject({ kafka: { groupId: { enum: ['ordering.reports'] } } });
    expect(doc.info['x-herald-transport']).toEqual({ name: 'kafka', protocol: 'kafka' });
    expect(await asyncApiErrors(doc)).toEqual([]);
  });

  it('names RabbitMQ routing keys, exchange and group queues as the RabbitMQ transport does', async () => {
    const transport = rabbitMqTransport({ url: 'amqp://127.0.0.1:5672', exchange: 'shop' });
    const doc = await exportContracts(orderingBuilder().useTransport(transport));
    const channel = channelOf(doc, 'ordering.order-placed');
    expect(channel.address).toBe('ordering.order-placed');
    expect(channel.bindings).toMatchObject({
      amqp: { is: 'routingKey', exchange: { name: 'shop', type: 'topic' } },
    });
    const receive = Object.values(doc.operations).find(
      (op) => op['x-herald-handler']?.name === 'ordering.reserve',
    )!;
    expect(receive['x-herald-consumer']).toEqual(transport.naming.consumer('ordering'));
    expect(receive['x-herald-consumer']?.name).toBe('shop.ordering');
    expect(await asyncApiErrors(doc)).toEqual([]);
  });

  it('names Service Bus topics, subjects and subscriptions as the Service Bus transport does', async () => {
    const transport = azureServiceBusTransport({
      connectionString: 'Endpoint=sb://127.0.0.1/;SharedAccessKeyName=k;SharedAccessKey=contracts-test',
      topic: 'shop',
    });
    const doc = await exportContracts(orderingBuilder().useTransport(transport));
    expect(channelOf(doc, 'ordering.order-placed')['x-herald-channel']).toEqual({
      address: 'shop',
      subject: 'ordering.order-placed',
    });
    expect(await asyncApiErrors(doc)).toEqual([]);
  });

  it('exports from a built bus, including an event it published without declaring it', async () => {
    const Shipped = defineEvent('shipping.shipped');
    const bus = createIntegrationEventBus({ service: 'shipping', logger: silentLogger }).build();
    await bus.start();
    try {
      await bus.publish(new Shipped({ id: '1' }));
    } finally {
      await bus.stop();
    }
    const doc = await exportContracts(bus);
    expect(Object.values(doc.operations).map((op) => [op.action, op['x-herald-event']])).toEqual([
      ['send', 'shipping.shipped'],
    ]);
  });

  it('says when a schema library has no converter, and uses a converter given in the options', async () => {
    const homemade: StandardSchemaV1 = {
      '~standard': { version: 1, vendor: 'homemade', validate: (value) => ({ value }) },
    };
    const Odd = defineEvent('odd.event', { schema: homemade });
    const builder = () => createIntegrationEventBus({ service: 'odd', logger: silentLogger }).publishes(Odd);
    const plain = messageOf(await exportContracts(builder()), 'odd.event');
    expect(plain['x-herald-event']).toMatchObject({ schema: 'unconvertible', vendor: 'homemade' });
    expect(plain['x-herald-event'].reason).toContain('toJsonSchema');
    const converted = messageOf(
      await exportContracts(builder(), {
        toJsonSchema: () => ({ type: 'object', properties: { x: { type: 'string' } } }),
      }),
      'odd.event',
    );
    expect(converted.payload).toEqual({ type: 'object', properties: { x: { type: 'string' } } });
  });

  it('refuses something that is not a bus or builder with a ContractError', async () => {
    await expect(exportContracts({} as never)).rejects.toBeInstanceOf(ContractError);
    expect(() => readContract({ asyncapi: '3.0.0', info: { title: 'x' } })).toThrow(ContractError);
  });
});
