/** What the outbox and the inbox port share: how a record's failures are kept and how operators list records. */

/** One recorded failure of a record (newest last). */
export interface ErrorEntry {
  /** When the failure happened. */
  readonly at: Date;
  /** The failure as stored: error name (or Herald error code) and message. */
  readonly error: string;
}

/** Filter for operators' listings (both stores). */
export interface RecordQuery {
  /** Only records in this status (outbox `pending`/`failed`/`published`/`dead`, inbox `processing`/`processed`/`failed`/`dead`). */
  readonly status?: string;
  /** Only records of this event name. */
  readonly eventName?: string;
  /** At most this many records (the store's default when absent). */
  readonly limit?: number;
  /** Only records created/received before this instant. */
  readonly before?: Date;
}
