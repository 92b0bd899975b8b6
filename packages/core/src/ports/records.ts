/** What the outbox and the inbox port share: how a record's failures are kept and how operators list records. */

/** One recorded failure of a record (newest last). */
export interface ErrorEntry {
  readonly at: Date;
  readonly error: string;
}

/** Filter for operators' listings (both stores). */
export interface RecordQuery {
  readonly status?: string;
  readonly eventName?: string;
  readonly limit?: number;
  /** Only records created/received before this instant. */
  readonly before?: Date;
}
