import { WireHeaders, type WireMessage } from '@herald/core';
import { expect } from 'vitest';

/** Bytes as a plain array, so vitest prints a readable diff. */
export function bytes(body: Uint8Array): number[] {
  return [...body];
}

/**
 * Asserts that a message read back from a store is the message that was
 * written: same id, name, ordering key (absent stays absent), body bytes and
 * headers, plus the sequence header when `sequence` is given.
 */
export function expectSameMessage(actual: WireMessage, expected: WireMessage, sequence?: number): void {
  expect(actual.id).toBe(expected.id);
  expect(actual.name).toBe(expected.name);
  expect(actual.orderingKey).toBe(expected.orderingKey);
  expect(actual.body).toBeInstanceOf(Uint8Array);
  expect(bytes(actual.body)).toEqual(bytes(expected.body));
  const headers = { ...expected.headers };
  if (sequence !== undefined) headers[WireHeaders.sequence] = String(sequence);
  expect({ ...actual.headers }).toEqual(headers);
}

/** Ids of records or messages, in order. */
export function idsOf(items: readonly ({ message: WireMessage } | WireMessage)[]): string[] {
  return items.map((item) => ('message' in item ? item.message.id : item.id));
}

/** Thrown inside a transaction to make it roll back. */
export class RollbackSignal extends Error {
  constructor() {
    super('testkit: deliberate rollback');
    this.name = 'RollbackSignal';
  }
}
