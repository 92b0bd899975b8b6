/** What {@link deleteTopicsStartingWith} needs of a Kafka admin client: kafkajs's `Admin` fits. */
export interface TopicAdmin {
  connect(): Promise<void>;
  listTopics(): Promise<string[]>;
  deleteTopics(options: { topics: string[]; timeout?: number }): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * Deletes every topic whose name starts with `prefix` (a test run's topics, event and dead-letter
 * ones alike), so repeated runs do not pile up partitions a shared broker must load on each
 * restart. Connects `admin` and disconnects it, also when listing or deleting fails.
 */
export async function deleteTopicsStartingWith(admin: TopicAdmin, prefix: string): Promise<void> {
  await admin.connect();
  try {
    const mine = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 15_000 });
  } finally {
    await admin.disconnect();
  }
}
