/** One entity in a snapshot page. */
export interface SnapshotItem<E> {
  /** The entity's key(s) joined with "," (the synchronizer's local key). */
  readonly keysAsString: string;
  /** The entity's current version; undefined when the source does not version its entities. */
  readonly version: number | undefined;
  /** The entity's transfer object (ETO), as its events carry it. */
  readonly entity: E;
}

/** A page of a producer's snapshot, ordered by key. */
export interface SnapshotPage<E> {
  /** The page's entities, ordered by key; empty past the end. */
  readonly items: readonly SnapshotItem<E>[];
  /** Cursor of the next page; absent on the last page. */
  readonly next?: string;
}

/**
 * The producer side of backfill: paged, versioned snapshots of an entity
 * (ABP leaves "copy existing data by hand" to you; this is that copy). Serve
 * it over whatever you have (HTTP, RPC) — only `page` is needed.
 */
export interface SnapshotSource<E> {
  /** At most `limit` items with a key after the cursor `after` (from the start when absent), in key order. */
  page(request: { after?: string; limit: number }): Promise<SnapshotPage<E>>;
}

/** Builds a snapshot source from a function that reads rows after a cursor key, in key order. */
export function snapshotSource<T, E>(options: {
  /** Rows with key > `after` (all when undefined), ordered by key, at most `limit`. */
  readRows: (after: string | undefined, limit: number) => Promise<readonly T[]>;
  keysAsString: (row: T) => string;
  version?: (row: T) => number | undefined;
  toEto: (row: T) => E;
}): SnapshotSource<E> {
  return {
    async page({ after, limit }) {
      const rows = await options.readRows(after, limit);
      const items = rows.map((row) => ({
        keysAsString: options.keysAsString(row),
        version: options.version?.(row),
        entity: options.toEto(row),
      }));
      const last = items.at(-1);
      return rows.length === limit && last ? { items, next: last.keysAsString } : { items };
    },
  };
}

/** Reads every page of a snapshot. */
export async function* readSnapshot<E>(
  source: SnapshotSource<E>,
  pageSize: number,
): AsyncGenerator<SnapshotItem<E>> {
  let after: string | undefined;
  for (;;) {
    const page = await source.page({ ...(after !== undefined ? { after } : {}), limit: pageSize });
    yield* page.items;
    if (!page.next) return;
    after = page.next;
  }
}
