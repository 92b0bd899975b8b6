import { uuidv7, WireHeaders } from '@herald/core';
import { describe, expect, it } from 'vitest';
import { CloudEventExtensions, readHeraldHeaders, toCloudEvent } from '../src/native-mapping.js';

const id = uuidv7();
const message = {
  id,
  name: 'orders.placed',
  orderingKey: 'customer-1',
  headers: {
    [WireHeaders.id]: id,
    [WireHeaders.name]: 'orders.placed',
    [WireHeaders.source]: 'ordering',
    [WireHeaders.occurredAt]: '2026-01-02T03:04:05.000Z',
    [WireHeaders.contentType]: 'application/json',
    'x-note': 'ünïcödé ✓',
    'x-empty': '',
  },
  body: Uint8Array.from([0, 255, 128, 10]),
};

describe('CloudEvent mapping', () => {
  it('maps the envelope onto the standard attributes and keeps every header and byte', () => {
    const event = toCloudEvent(message);
    expect(event).toMatchObject({
      specversion: '1.0',
      id,
      type: 'orders.placed',
      source: 'ordering',
      time: '2026-01-02T03:04:05.000Z',
      datacontenttype: 'application/json',
      subject: 'customer-1',
    });
    expect(Buffer.from(event.data_base64!, 'base64')).toEqual(Buffer.from(message.body));
    const back = readHeraldHeaders({ id, data: message.body, extensions: { ...event } });
    expect(back).toEqual({ ok: true, headers: message.headers });
  });

  it('reads hostile extensions as header-less, never throwing, never polluting prototypes', () => {
    const cases: unknown[] = [undefined, 42, '{oops', '[1,2]', 'null', '{"herald-id":7}'];
    for (const value of cases) {
      const reading = readHeraldHeaders({
        id,
        data: new Uint8Array(),
        extensions: { [CloudEventExtensions.headers]: value },
      });
      expect(reading.ok, String(value)).toBe(false);
    }
    const reading = readHeraldHeaders({
      id,
      data: new Uint8Array(),
      extensions: { [CloudEventExtensions.headers]: '{"__proto__":"x","constructor":"y","herald-id":"z"}' },
    });
    expect(reading.ok).toBe(true);
    if (!reading.ok) return;
    expect(Object.getPrototypeOf(reading.headers)).toBe(Object.prototype);
    expect(Object.keys(reading.headers)).toEqual(['__proto__', 'constructor', 'herald-id']);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
