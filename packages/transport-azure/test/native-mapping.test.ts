import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { testWireMessage } from '@herald/testkit';
import { describe, expect, it } from 'vitest';
import { fromServiceBusMessage, RETRY_SUBJECT, toServiceBusMessage } from '../src/index.js';

/** What the SDK hands a receiver for a sent message (the properties the mapping reads). */
function received(
  message: ReturnType<typeof toServiceBusMessage>,
  deliveryCount = 0,
): ServiceBusReceivedMessage {
  return { ...message, deliveryCount } as unknown as ServiceBusReceivedMessage;
}

const roundTrip = (headers: Record<string, string>, addressing = { messageId: 'id-1', subject: 'Evt' }) =>
  fromServiceBusMessage(received(toServiceBusMessage(headers, new Uint8Array([1, 2]), addressing))).headers;

describe('message mapping', () => {
  it('rebuilds exactly the headers of a well-formed message', () => {
    const wire = testWireMessage({
      name: 'OrderCreated',
      orderingKey: 'o-1',
      headers: { 'x-a': '', 'x-b': 'ü' },
    });
    const headers = {
      ...wire.headers,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    };
    expect(roundTrip(headers, { messageId: wire.id, subject: wire.name })).toEqual(headers);
  });

  it('keeps absent herald-id / herald-name absent although messageId and subject are set', () => {
    expect(roundTrip({ 'x-testkit-id': 'g1' })).toEqual({ 'x-testkit-id': 'g1' });
  });

  it('keeps headers that differ from the native properties (a retry copy)', () => {
    const headers = { 'herald-id': 'original', 'herald-name': 'OrderCreated', 'x-a': '1' };
    const copy = toServiceBusMessage(headers, new Uint8Array(), {
      messageId: 'copy-id',
      subject: RETRY_SUBJECT,
      to: 'ordering',
      attempt: 3,
    });
    const decoded = fromServiceBusMessage(received(copy, 1));
    expect(decoded.headers).toEqual(headers);
    expect(decoded.baseAttempt).toBe(3);
  });

  it('fits ids over 128 characters and carries the header itself', () => {
    const id = 'i'.repeat(200);
    const message = toServiceBusMessage({ 'herald-id': id }, new Uint8Array(), {
      messageId: id,
      subject: 'Evt',
    });
    expect(String(message.messageId).length).toBeLessThanOrEqual(128);
    expect(fromServiceBusMessage(received(message)).headers).toEqual({ 'herald-id': id });
  });

  it('carries empty or over-long correlation ids and content types as application properties', () => {
    const long = 'c'.repeat(129);
    const headers = { 'herald-id': 'id-1', 'herald-correlation-id': long, 'content-type': '' };
    expect(roundTrip(headers)).toEqual(headers);
  });

  it("reads other publishers' messages: typed properties become strings, non-binary bodies are encoded", () => {
    const foreign = {
      body: { hello: 'world' },
      messageId: 42,
      subject: 'Evt',
      applicationProperties: { count: 3, flag: true, text: 'x' },
      deliveryCount: 0,
    } as unknown as ServiceBusReceivedMessage;
    const decoded = fromServiceBusMessage(foreign);
    expect(decoded.headers).toEqual({
      'herald-id': '42',
      'herald-name': 'Evt',
      count: '3',
      flag: 'true',
      text: 'x',
    });
    expect(Buffer.from(decoded.body).toString()).toBe('{"hello":"world"}');
  });

  it('leaves the broker dead-letter properties out of the headers of a dead letter', () => {
    const message = toServiceBusMessage({ 'herald-id': 'id-1' }, new Uint8Array(), {
      messageId: 'id-1',
      subject: 'E',
    });
    const letter = {
      ...message,
      applicationProperties: {
        ...message.applicationProperties,
        DeadLetterReason: 'r',
        DeadLetterErrorDescription: 'd',
      },
    } as unknown as ServiceBusReceivedMessage;
    expect(fromServiceBusMessage(letter, { deadLetter: true }).headers).toEqual({ 'herald-id': 'id-1' });
  });
});
