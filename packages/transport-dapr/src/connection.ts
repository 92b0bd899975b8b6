import { CommunicationProtocolEnum, DaprClient, type GRPCClient } from '@dapr/dapr';
import { DaprSidecarUnreachableError } from './errors.js';
import type { ResolvedDaprOptions } from './options.js';

/** The gRPC client of the Dapr API as `@dapr/dapr` builds it (ConnectRPC over HTTP/2). */
export type DaprApi = Awaited<ReturnType<GRPCClient['getClient']>>;

/**
 * One sidecar connection: the official `DaprClient` (gRPC), and the raw Dapr
 * API client underneath it for what the SDK does not wrap — per-entry metadata
 * in bulk publish and streaming subscriptions (`SubscribeTopicEventsAlpha1`).
 */
export class SidecarConnection {
  readonly endpoint: string;
  private readonly client: DaprClient;
  private api: DaprApi | undefined;

  constructor(private readonly options: ResolvedDaprOptions) {
    this.endpoint = `${options.daprHost}:${options.daprGrpcPort}`;
    this.client = new DaprClient({
      daprHost: options.daprHost,
      daprPort: String(options.daprGrpcPort),
      communicationProtocol: CommunicationProtocolEnum.GRPC,
      ...(options.daprApiToken ? { daprApiToken: options.daprApiToken } : {}),
      logger: { level: 0 },
    });
  }

  /** Waits until the sidecar answers its metadata call (the SDK's own wait has no deadline). */
  async connect(): Promise<void> {
    const api = await (this.client.daprClient as GRPCClient).getClient(false);
    const deadline = Date.now() + this.options.startTimeoutMs;
    let lastError: unknown;
    for (;;) {
      try {
        await api.getMetadata({}, { timeoutMs: Math.max(500, Math.min(3_000, deadline - Date.now())) });
        this.api = api;
        return;
      } catch (error) {
        lastError = error;
      }
      if (Date.now() >= deadline) {
        throw new DaprSidecarUnreachableError(this.endpoint, this.options.startTimeoutMs, {
          cause: lastError,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** The Dapr API; `connect()` must have succeeded. */
  get dapr(): DaprApi {
    if (!this.api) throw new DaprSidecarUnreachableError(this.endpoint, 0);
    return this.api;
  }

  /** Whether the sidecar answers right now. */
  async ping(timeoutMs = 2_000): Promise<boolean> {
    try {
      await this.dapr.getMetadata({}, { timeoutMs });
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.client.stop();
  }
}
