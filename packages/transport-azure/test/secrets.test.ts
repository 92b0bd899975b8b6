import { ConfigurationError, TransportError } from '@herald/core';
import { capturingLogger, failureText } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azureServiceBusTransport } from '../src/index.js';
import { AmqpTestPeer } from './helpers.js';

const SECRET = 'c2VjcmV0LXNhcy1rZXktOTk5OQ==';
const retryOptions = { maxRetries: 0, retryDelayInMs: 50, timeoutInMs: 2_000 };

describe('the connection string key never reaches an error or a log', () => {
  it('a mistyped Endpoint (port 99999) is a configuration error at factory time, without the key', () => {
    let thrown: unknown;
    try {
      azureServiceBusTransport({
        connectionString: `Endpoint=sb://127.0.0.1:99999/;SharedAccessKeyName=root;SharedAccessKey=${SECRET}`,
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect((thrown as Error).message).toContain('invalid port "99999"');
    expect(failureText(thrown)).not.toContain(SECRET);
  });

  describe('with the AMQP test peer', () => {
    let peer: AmqpTestPeer;
    beforeAll(async () => {
      peer = await AmqpTestPeer.start();
    });
    afterAll(() => peer?.stop());

    it.each([
      ['a topic that does not exist', () => peer.port],
      ['a port nothing listens on', () => 1],
    ])(
      'start() with %s fails with a clean TransportError and clean logs',
      async (_label, port) => {
        const logger = capturingLogger();
        const transport = azureServiceBusTransport({
          connectionString: `Endpoint=sb://127.0.0.1:${port()}/;SharedAccessKeyName=root;SharedAccessKey=${SECRET};UseDevelopmentEmulator=true`,
          topic: 'no-such-topic',
          retryOptions,
          logger,
        });
        const thrown = await transport.start().then(
          () => undefined,
          (error: unknown) => error,
        );
        await transport.stop();
        expect(thrown).toBeInstanceOf(TransportError);
        expect(failureText(thrown, logger.text())).not.toContain(SECRET);
      },
      30_000,
    );
  });
});
