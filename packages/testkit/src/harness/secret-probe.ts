import { inspect } from 'node:util';
import type { Logger } from '@herald/core';

/** A logger that keeps every call, so a test can search all an adapter said. */
export interface CapturingLogger extends Logger {
  /** Every call so far, in call order. */
  readonly lines: Array<{
    /** The logger method called: `debug`, `info`, `warn` or `error`. */
    level: string;
    /** The message as logged. */
    message: string;
    /** The context object as logged (the same reference); absent when the call had none. */
    context?: Record<string, unknown>;
  }>;
  /** Everything logged, each context inspected to full depth (errors with causes and own properties). */
  text(): string;
}

/** Creates a {@link CapturingLogger}. */
export function capturingLogger(): CapturingLogger {
  const lines: CapturingLogger['lines'] = [];
  const at =
    (level: string) =>
    (message: string, context?: Record<string, unknown>): void =>
      void lines.push(context === undefined ? { level, message } : { level, message, context });
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    text: () => lines.map((line) => `${line.level} ${line.message} ${inspectAll(line.context)}`).join('\n'),
  };
}

/**
 * Everything a failure shows a reader: the error as `console.error` would print
 * it (inspected with unlimited depth, so every `cause` and own property), plus
 * any logged text. Search it for a secret that must not be there.
 */
export function failureText(error: unknown, logged = ''): string {
  return `${inspectAll(error)}\n${String((error as Error | undefined)?.stack ?? '')}\n${logged}`;
}

function inspectAll(value: unknown): string {
  return inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true, getters: true });
}
