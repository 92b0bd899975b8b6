import { HeraldError } from '@herald/core';

/** A contract could not be exported or read: a bad source, a document that is not a Herald contract. */
export class ContractError extends HeraldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('HERALD_CONTRACT', message, options);
  }
}
