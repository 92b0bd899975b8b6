/** Number of shard buckets records are spread over. */
export const BUCKET_COUNT = 1024;

/**
 * Stable bucket (0…1023) of an ordering key, FNV-1a over UTF-16 code units.
 * Stores persist it so sharded relays can filter with `bucket % count = index`
 * in SQL without re-hashing.
 */
export function bucketOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % BUCKET_COUNT;
}
