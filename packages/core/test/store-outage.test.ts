import { afterEach, describe, expect, it, vi } from 'vitest';
import { Monitor } from '../src/monitoring.js';
import type { Logger } from '../src/ports/logger.js';
import { RELAPSE_WINDOW_MS, StoreOutage } from '../src/receive/store-outage.js';

// The consumer's outage gate: one start line and one end line per outage, including the
// failures of connections that died with the store and fail one by one right after it is back.

function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

const failure = new Error('connection terminated');

describe('StoreOutage', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('logs an outage once when it starts and once when it ends, and reports it meanwhile', () => {
    const { logger, lines } = recordingLogger();
    const outage = new StoreOutage(logger, new Monitor(logger), 'billing');
    outage.failed(failure);
    expect(outage.current?.reason).toContain('connection terminated');
    outage.failed(failure); // in-flight work failing too changes nothing
    outage.succeeded();
    expect(outage.current).toBeUndefined();
    expect(lines.filter((line) => !line.startsWith('debug'))).toEqual([
      'error Inbox store unavailable; deliveries wait and probe it with a growing pause',
      expect.stringMatching(/^warn Inbox store available again after \d+\.\d s; deliveries continue$/),
    ]);
  });

  it('treats failures right after the end as a relapse of the same outage: paused and reported, logged at debug only', () => {
    vi.useFakeTimers();
    const { logger, lines } = recordingLogger();
    const outage = new StoreOutage(logger, new Monitor(logger), 'billing');
    outage.failed(failure);
    vi.advanceTimersByTime(15_000);
    outage.succeeded();
    for (let relapse = 0; relapse < 3; relapse++) {
      vi.advanceTimersByTime(800);
      outage.failed(failure); // a pooled connection that died with the outage
      expect(outage.current, 'health still reports the relapse').toBeDefined();
      outage.succeeded();
    }
    const loud = lines.filter((line) => !line.startsWith('debug'));
    expect(loud).toHaveLength(2);
    expect(lines.filter((line) => line.startsWith('debug'))).toHaveLength(6);
  });

  it('logs a failure well after the end as a new outage', () => {
    vi.useFakeTimers();
    const { logger, lines } = recordingLogger();
    const outage = new StoreOutage(logger, new Monitor(logger), 'billing');
    outage.failed(failure);
    outage.succeeded();
    vi.advanceTimersByTime(RELAPSE_WINDOW_MS + 1);
    outage.failed(failure);
    outage.succeeded();
    expect(lines.filter((line) => line.startsWith('error'))).toHaveLength(2);
    expect(lines.filter((line) => line.startsWith('warn'))).toHaveLength(2);
  });
});
