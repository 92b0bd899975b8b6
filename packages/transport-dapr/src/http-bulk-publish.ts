import type { ResolvedDaprOptions } from './options.js';

/** Bound of one HTTP bulk publish call (the gRPC path has the sidecar's own). */
const HTTP_BULK_PUBLISH_TIMEOUT_MS = 30_000;

/** One entry of a bulk publish, as both sidecar APIs take it. */
export interface BulkEntry {
  readonly entryId: string;
  /** The structured CloudEvent (JSON text). */
  readonly event: Uint8Array;
  readonly contentType: string;
  readonly metadata: Record<string, string>;
}

/** What a bulk publish call reports: the entries that failed, each with its error text. */
export interface BulkPublishResult {
  readonly failedEntries: readonly { readonly entryId: string; readonly error: string }[];
}

/**
 * Bulk publish through the sidecar's HTTP API (`POST
 * /v1.0-alpha1/publish/bulk/{pubsub}/{topic}`). Unlike the gRPC call, daprd
 * 1.18 answers a partial failure here with the list of failed entries
 * (HTTP 500 and `failedEntries`), so each message gets its own outcome.
 * Rejects when the call failed without such a list (every entry failed).
 */
export async function httpBulkPublish(
  options: Pick<ResolvedDaprOptions, 'daprHost' | 'daprHttpPort' | 'daprApiToken'>,
  pubsubName: string,
  topic: string,
  entries: readonly BulkEntry[],
): Promise<BulkPublishResult> {
  const url = `http://${options.daprHost}:${options.daprHttpPort}/v1.0-alpha1/publish/bulk/${encodeURIComponent(pubsubName)}/${topic
    .split('/')
    .map(encodeURIComponent)
    .join('/')}`;
  const body = entries.map((entry) => ({
    entryId: entry.entryId,
    // A CloudEvent travels as a JSON value: daprd marshals it back to bytes.
    event: JSON.parse(Buffer.from(entry.event).toString('utf8')) as unknown,
    contentType: entry.contentType,
    metadata: entry.metadata,
  }));
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.daprApiToken ? { 'dapr-api-token': options.daprApiToken } : {}),
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(HTTP_BULK_PUBLISH_TIMEOUT_MS),
  });
  if (response.ok) {
    await response.body?.cancel();
    return { failedEntries: [] };
  }
  const text = await response.text();
  const failedEntries = failedEntriesOf(text);
  if (failedEntries.length === 0) {
    throw new Error(`HTTP ${response.status} from the sidecar: ${text.slice(0, 500)}`);
  }
  return { failedEntries };
}

function failedEntriesOf(text: string): BulkPublishResult['failedEntries'] {
  try {
    const parsed = JSON.parse(text) as { failedEntries?: unknown };
    if (!Array.isArray(parsed.failedEntries)) return [];
    return parsed.failedEntries
      .filter((entry): entry is { entryId: string; error?: unknown } => typeof entry?.entryId === 'string')
      .map((entry) => ({
        entryId: entry.entryId,
        error: typeof entry.error === 'string' ? entry.error : '',
      }));
  } catch {
    return [];
  }
}
