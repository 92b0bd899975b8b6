import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  parseConnectionUrl,
  redactError,
  redactSecrets,
  TransportError,
} from '../src/index.js';

const SECRET = 'S3cr3t-pa55';

describe('redactSecrets', () => {
  it.each([
    [`amqp://user:${SECRET}@127.0.0.1:5672/vhost`, 'amqp://user:***@127.0.0.1:5672/vhost'],
    [`postgres://app:${SECRET}@db:5432/x?sslmode=require`, 'postgres://app:***@db:5432/x?sslmode=require'],
    [`mongodb://u:${SECRET}@a:1,b:2/db`, 'mongodb://u:***@a:1,b:2/db'],
    [`redis://:${SECRET}@127.0.0.1:6379`, 'redis://:***@127.0.0.1:6379'],
    [`connect to "amqp://u:p@ss${SECRET}@h:1" failed`, 'connect to "amqp://u:***@h:1" failed'],
    [
      `Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=${SECRET}=;EntityPath=q`,
      'Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=***;EntityPath=q',
    ],
    [`host=db user=app password=${SECRET} dbname=x`, 'host=db user=app password=*** dbname=x'],
    [`{ user: 'app', password: '${SECRET}' }`, `{ user: 'app', password: '***' }`],
    [`{"password":"${SECRET}","user":"app"}`, '{"password":"***","user":"app"}'],
  ])('%s', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });

  it('keeps URLs without a password and plain text as they are', () => {
    expect(redactSecrets('amqp://guest@127.0.0.1:5672 and http://127.0.0.1:8080/x')).toBe(
      'amqp://guest@127.0.0.1:5672 and http://127.0.0.1:8080/x',
    );
  });

  it('replaces the given secrets literally, wherever they appear', () => {
    expect(redactSecrets(`SASL failed for ${SECRET}!`, [SECRET])).toBe('SASL failed for ***!');
  });
});

describe('redactError', () => {
  it('rewrites message, stack, own properties and the whole cause chain, keeping the classes', () => {
    let nodeError: unknown;
    try {
      new URL(`amqp://user:${SECRET}@127.0.0.1:99999`);
    } catch (error) {
      nodeError = error;
    }
    expect(inspect(nodeError, { depth: Infinity })).toContain(SECRET);
    const middle = new Error(`dial amqp://user:${SECRET}@127.0.0.1 failed`, { cause: nodeError });
    const outer = new TransportError('start failed', { cause: new AggregateError([middle], 'all failed') });
    Object.assign(outer, { details: { connectionString: `password=${SECRET};` } });
    const result = redactError(outer);
    expect(result).toBe(outer);
    expect(result).toBeInstanceOf(TransportError);
    expect(inspect(result, { depth: Infinity })).not.toContain(SECRET);
    expect(String((nodeError as Error).stack)).not.toContain(SECRET);
  });

  it('survives cycles and non-errors', () => {
    const error = new Error(`x password=${SECRET}`) as Error & { self?: unknown };
    error.self = error;
    expect(inspect(redactError(error), { depth: 4 })).not.toContain(SECRET);
    expect(redactError(`amqp://u:${SECRET}@h`)).toBe('amqp://u:***@h');
    expect(redactError(42)).toBe(42);
  });
});

describe('parseConnectionUrl', () => {
  const options = { name: 'RabbitMQ url', protocols: ['amqp', 'amqps'] };

  it.each([
    [`amqp://user:${SECRET}@127.0.0.1:99999`, /invalid port "99999"/],
    [`amqp://user:${SECRET}@127.0.0.1:56x2`, /invalid port/],
    [`http://user:${SECRET}@127.0.0.1:5672`, /must start with amqp:\/\/ or amqps:\/\/, not http:\/\//],
    [`amqp://user:${SECRET}@exa mple.com`, /not a valid URL/],
    ['', /non-empty string/],
  ])('%s is a configuration error without the password', (input, message) => {
    let thrown: unknown;
    try {
      parseConnectionUrl(input, options);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect((thrown as Error).message).toMatch(message);
    expect(inspect(thrown, { depth: Infinity })).not.toContain(SECRET);
  });

  it('returns the parsed URL of a good one', () => {
    expect(parseConnectionUrl(`amqps://u:${SECRET}@broker:5671/v`, options).port).toBe('5671');
  });
});
