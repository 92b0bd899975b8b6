import { ConfigurationError, TransportError } from '@herald/core';
import { capturingLogger, failureText } from '@herald/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { rabbitMqTransport } from '../src/index.js';
import { rabbitUrl, requireRabbit, unique } from './helpers.js';

const SECRET = 'pa55-Wr0ng-4mqp';

describe('credentials in the RabbitMQ url never reach an error or a log', () => {
  it('a mistyped url (port 99999) is a configuration error at factory time, without the password', () => {
    const logger = capturingLogger();
    let thrown: unknown;
    try {
      rabbitMqTransport({ url: `amqp://user:${SECRET}@127.0.0.1:99999`, logger });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect((thrown as Error).message).toContain('invalid port "99999"');
    expect(failureText(thrown, logger.text())).not.toContain(SECRET);
  });

  it.each([
    ['an unencoded @ in the password', `amqp://user:x@${SECRET}@127.0.0.1:5672:1`],
    ['a scheme typo', `amqq://user:${SECRET}@127.0.0.1:5672`],
  ])('%s is a configuration error without the password', (_label, url) => {
    let thrown: unknown;
    try {
      rabbitMqTransport({ url });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect(failureText(thrown)).not.toContain(SECRET);
  });

  describe('on the real broker', () => {
    beforeAll(requireRabbit);

    it.each([
      ['a wrong password', () => withPassword(rabbitUrl, SECRET)],
      ['a port nothing listens on', () => withPassword('amqp://herald@127.0.0.1:1', SECRET)],
    ])('start() with %s fails with a clean TransportError and clean logs', async (_label, url) => {
      const logger = capturingLogger();
      const transport = rabbitMqTransport({
        url: url(),
        exchange: unique('herald-secrets'),
        connectTimeoutMs: 1_500,
        reconnect: { initialDelayMs: 100, maxDelayMs: 300 },
        logger,
      });
      const thrown = await transport.start().then(
        () => undefined,
        (error: unknown) => error,
      );
      await transport.stop();
      expect(thrown).toBeInstanceOf(TransportError);
      expect(logger.lines.length).toBeGreaterThan(0);
      expect(failureText(thrown, logger.text())).not.toContain(SECRET);
      const health = await transport.health();
      expect(JSON.stringify(health)).not.toContain(SECRET);
    });
  });
});

function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = password;
  return parsed.toString();
}
