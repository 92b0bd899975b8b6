import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigurationError,
  defineEvent,
  describeEvent,
  eventNameOf,
  SchemaValidationError,
  validatePayload,
} from '../src/index.js';

describe('event definitions', () => {
  it('defaults the name to the class name and honours a static eventName', () => {
    class OrderPlaced {
      constructor(readonly orderId: string) {}
    }
    class Renamed {
      static readonly eventName = 'ordering.order-renamed';
    }
    expect(eventNameOf(OrderPlaced)).toBe('OrderPlaced');
    expect(eventNameOf(new OrderPlaced('1'))).toBe('OrderPlaced');
    expect(eventNameOf(Renamed)).toBe('ordering.order-renamed');
    expect(describeEvent(OrderPlaced).version).toBe(1);
  });

  it('rejects invalid names and versions with a configuration error', () => {
    class Bad {
      static readonly eventName = 'has spaces';
    }
    class BadVersion {
      static readonly eventVersion = 0;
    }
    expect(() => describeEvent(Bad)).toThrow(ConfigurationError);
    expect(() => describeEvent(BadVersion)).toThrow(/eventVersion/);
  });

  it('defineEvent builds a class whose payload type comes from the schema', async () => {
    const Placed = defineEvent('ordering.placed', {
      schema: z.object({ orderId: z.string(), total: z.number() }),
      version: 2,
    });
    const event = new Placed({ orderId: 'a', total: 3 });
    expect(event.orderId).toBe('a');
    expect(eventNameOf(event)).toBe('ordering.placed');
    expect(describeEvent(Placed).version).toBe(2);
    await expect(validatePayload(describeEvent(Placed), { orderId: 1 })).rejects.toBeInstanceOf(
      SchemaValidationError,
    );
    await expect(validatePayload(describeEvent(Placed), { orderId: 'x', total: 1 })).resolves.toEqual({
      orderId: 'x',
      total: 1,
    });
  });

  it('reports schema issues with their path', async () => {
    const Shipped = defineEvent('shipped', { schema: z.object({ address: z.object({ zip: z.string() }) }) });
    const error = (await validatePayload(describeEvent(Shipped), { address: { zip: 5 } }).catch(
      (e: unknown) => e,
    )) as SchemaValidationError;
    expect(error).toBeInstanceOf(SchemaValidationError);
    expect(error.message).toContain('address.zip');
    expect(error.code).toBe('HERALD_SCHEMA_VALIDATION');
  });
});
