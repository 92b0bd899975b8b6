import { describe, expect, it } from 'vitest';
import {
  type Envelope,
  fromWire,
  isUuid,
  JsonSerializer,
  MalformedMessageError,
  PayloadTooLargeError,
  toWire,
  uuidv7,
} from '../src/index.js';

const serializer = new JsonSerializer({ maxPayloadBytes: 1024 });

describe('uuid v7', () => {
  it('is a valid, version 7, strictly increasing id', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7());
    for (const id of ids) expect(isUuid(id)).toBe(true);
    expect(ids[0]![14]).toBe('7');
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('wire codec', () => {
  const envelope: Envelope = {
    id: uuidv7(),
    name: 'OrderPlaced',
    version: 3,
    occurredAt: new Date().toISOString(),
    source: 'ordering',
    correlationId: 'c-1',
    causationId: 'x-1',
    tenantId: 't-1',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    tracestate: 'k=v',
    orderingKey: 'order-1',
    headers: { 'x-custom': 'yes' },
    payload: { orderId: '1', lines: [1, 2] },
  };

  it('round-trips every envelope field', () => {
    const wire = toWire(envelope, serializer);
    expect(wire.id).toBe(envelope.id);
    expect(wire.orderingKey).toBe('order-1');
    expect(fromWire(wire.headers, wire.body, serializer)).toEqual(envelope);
  });

  it('rejects malformed JSON, bad UTF-8, missing headers and oversized bodies with typed errors', () => {
    const wire = toWire(envelope, serializer);
    expect(() => fromWire(wire.headers, new TextEncoder().encode('{nope'), serializer)).toThrow(
      MalformedMessageError,
    );
    expect(() => fromWire(wire.headers, new Uint8Array([0xff, 0xfe]), serializer)).toThrow(/UTF-8/);
    const { 'herald-name': _omit, ...withoutName } = wire.headers;
    expect(() => fromWire(withoutName, wire.body, serializer)).toThrow(/herald-name/);
    expect(() => fromWire({ ...wire.headers, 'herald-version': 'x' }, wire.body, serializer)).toThrow(
      MalformedMessageError,
    );
    expect(() => fromWire(wire.headers, new Uint8Array(2048), serializer)).toThrow(PayloadTooLargeError);
    expect(() => toWire({ ...envelope, payload: { big: 'x'.repeat(2000) } }, serializer)).toThrow(
      PayloadTooLargeError,
    );
    expect(() =>
      fromWire({ ...wire.headers, 'content-type': 'application/xml' }, wire.body, serializer),
    ).toThrow(/content type/i);
  });

  it('rejects payloads JSON cannot represent', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => serializer.serialize(cyclic)).toThrow(MalformedMessageError);
    expect(() => serializer.serialize(undefined)).toThrow(MalformedMessageError);
  });
});
