import { ConfigurationError, TransportError } from '@herald/core';
import { capturingLogger, failureText } from '@herald/testkit';
import type { SASLOptions } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { kafkaTransport } from '../src/index.js';
import { brokers, requireBroker, runId } from './helpers.js';

const SECRET = 'k4fka-S4SL-secret';

describe('SASL credentials never reach an error or a log', () => {
  it('a broker written with credentials is a configuration error that does not echo them', () => {
    let thrown: unknown;
    try {
      kafkaTransport({ brokers: [`app:${SECRET}@127.0.0.1:9092`] });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect((thrown as Error).message).toContain('sasl');
    expect(failureText(thrown)).not.toContain(SECRET);
  });

  describe('on the real broker', () => {
    beforeAll(requireBroker);

    it.each([
      { mechanism: 'plain', username: 'app', password: SECRET },
      { mechanism: 'scram-sha-256', username: 'app', password: SECRET },
    ] satisfies SASLOptions[])(
      'start() with SASL $mechanism against a listener that refuses it fails cleanly, with clean logs',
      async (sasl) => {
        const logger = capturingLogger();
        const transport = kafkaTransport({
          brokers,
          clientId: `herald-test-${runId}-secrets`,
          sasl,
          startTimeout: 5_000,
          connectionTimeout: 1_000,
          logger,
        });
        const thrown = await transport.start().then(
          () => undefined,
          (error: unknown) => error,
        );
        await transport.stop();
        expect(thrown).toBeInstanceOf(TransportError);
        // Not "unreachable, try again": the listener does not accept this SASL setup.
        expect(thrown).toMatchObject({
          retriable: false,
          message: expect.stringContaining('authentication failed'),
        });
        expect(failureText(thrown, logger.text())).not.toContain(SECRET);
        expect(JSON.stringify(await transport.health())).not.toContain(SECRET);
      },
      30_000,
    );
  });
});
