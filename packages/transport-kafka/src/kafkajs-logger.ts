import type { Logger } from '@herald/core';
import { type LogEntry, logLevel } from 'kafkajs';

/**
 * Routes kafkajs' log lines to Herald's logger. kafkajs reports transient
 * protocol answers it retries itself (a coordinator still loading, a group
 * rebalancing) at ERROR level, so its errors become warnings here; the
 * transport logs real failures as errors itself.
 */
export function kafkajsLogCreator(logger: Logger) {
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const { message, timestamp: _timestamp, logger: _name, ...context } = log;
      const text = `kafkajs ${namespace ? `[${namespace}] ` : ''}${message}`;
      // Said once per producer because the transport bounds retries on purpose (delivery is at-least-once anyway).
      if (message.startsWith('Limiting retries for the idempotent producer')) logger.debug(text, context);
      else if (level === logLevel.ERROR || level === logLevel.WARN) logger.warn(text, context);
      else if (level === logLevel.INFO) logger.info(text, context);
      else logger.debug(text, context);
    };
}
