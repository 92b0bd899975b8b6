import { redactSecrets } from '../redact.js';

/** Minimal structured logger; pino, winston and console all fit. */
export interface Logger {
  /** Detail for troubleshooting (skipped records, wake-ups); `context` holds structured fields. */
  debug(message: string, context?: Record<string, unknown>): void;
  /** Normal operation worth noting (start, stop, reconnected); `context` holds structured fields. */
  info(message: string, context?: Record<string, unknown>): void;
  /** Trouble Herald works around (retries, outages, lost leases); `context` holds structured fields. */
  warn(message: string, context?: Record<string, unknown>): void;
  /** Failures that need attention (dead letters, a stopped loop); `context` holds structured fields. */
  error(message: string, context?: Record<string, unknown>): void;
}

type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Console logger that drops messages below `level` (default `warn`, or `HERALD_LOG_LEVEL`). */
export function consoleLogger(level: Level = (process.env.HERALD_LOG_LEVEL as Level) || 'warn'): Logger {
  const threshold = ORDER[level] ?? ORDER.warn;
  const write = (at: Exclude<Level, 'silent'>) => (message: string, context?: Record<string, unknown>) => {
    if (ORDER[at] < threshold) return;
    const text = context ? `[herald] ${at} ${message} ${safeJson(context)}` : `[herald] ${at} ${message}`;
    // Last line of defence: whatever an adapter passed, credentials do not reach the console.
    const line = redactSecrets(text);
    (at === 'error' ? console.error : at === 'warn' ? console.warn : console.log)(line);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v) => (v instanceof Error ? `${v.name}: ${v.message}` : v));
  } catch {
    return String(value);
  }
}

/** A logger that discards everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
