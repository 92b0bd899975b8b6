import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { describeError, type Logger } from '@herald/core';
import { DaprSubscriptionError } from './errors.js';
import type { EventCallback, EventStatus, EventStreamTarget, GiveBackCallback } from './event-stream.js';
import type { DeliveredEvent } from './native-mapping.js';

/** Largest delivery body read (a CloudEvent; Dapr's own default request limit is 4 MiB). */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** Quiet time after the last `subscribe()` before the app reports healthy and daprd reads the list. */
const SETTLE_MS = 1_000;

/** Pause before a closed route gives an event back (so a running sidecar does not spin on it). */
const CLOSED_ROUTE_PAUSE_MS = 1_000;

/** Path prefix of the routes events are posted to. */
const ROUTE_PREFIX = '/herald/events/';

/**
 * The app side of Dapr's app-callback subscriptions: a small HTTP server on
 * 127.0.0.1 that daprd (started with `--app-port`, `--app-protocol http` and
 * `--enable-app-health-check`) asks for its programmatic subscriptions
 * (`GET /dapr/subscribe`) and posts events to. Our own `node:http` server,
 * not the SDK's `DaprServer`: that one serves the subscription list once, at
 * its start, and answers an event only with SUCCESS/RETRY/DROP from a
 * callback without a way to hold it unanswered during a retry wait.
 *
 * daprd reads the subscription list once in its life, when the app first
 * becomes healthy (dapr v1.18.0 `pkg/runtime/processor/subscriber/subscriber.go`,
 * `initProgrammaticSubscriptions` and its `hasInitProg` flag). So `/healthz`
 * answers 503 until a subscription was added and none followed for a second
 * (the bus subscribes all its groups at start), then 204; a subscription after
 * daprd read the list is refused with `DaprSubscriptionError`. An app that
 * never subscribes stays "unhealthy" to daprd, which only means it gets no
 * events (publishing does not depend on it).
 */
export class AppCallbackServer {
  private readonly routes = new Map<string, AppCallbackSubscription>();
  private server: Server | undefined;
  private nextRoute = 1;
  /** Bumped on every change of the route set; daprd has read `servedVersion`. */
  private version = 0;
  private servedVersion = -1;
  /** When the app may report healthy: a quiet second after the last subscription (never before the first). */
  private healthyFrom = Number.POSITIVE_INFINITY;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly settings: {
      readonly appPort: number;
      readonly subscribeTimeoutMs: number;
      readonly logger: Logger;
    },
  ) {}

  /** Listens on 127.0.0.1:`appPort`. */
  async listen(): Promise<void> {
    const server = createServer((request, response) => {
      this.serve(request, response).catch((error: unknown) => {
        this.settings.logger.error('dapr: app callback failed', { error: describeError(error) });
        if (!response.headersSent) response.writeHead(500).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.settings.appPort, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** A subscription served by this server (opened with `open()`). */
  subscription(
    target: EventStreamTarget,
    onEvent: EventCallback,
    giveBack: GiveBackCallback | undefined,
  ): AppCallbackSubscription {
    const route = `${ROUTE_PREFIX}${this.nextRoute++}`;
    return new AppCallbackSubscription(this, route, target, onEvent, giveBack);
  }

  /** Adds a route and waits until daprd has read the list that has it. */
  async add(subscription: AppCallbackSubscription): Promise<void> {
    if (this.servedVersion >= 0) {
      throw new DaprSubscriptionError(
        subscription.target.pubsubName,
        subscription.target.topic,
        'the sidecar has read the app-callback subscriptions already (daprd reads them once); ' +
          "subscribe every group at start, or use subscription: 'streaming'",
      );
    }
    this.routes.set(subscription.route, subscription);
    this.healthyFrom = Date.now() + SETTLE_MS;
    await this.publishRoutes(subscription.target);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    for (const wake of this.waiters) wake();
  }

  private async publishRoutes(target: EventStreamTarget): Promise<void> {
    const wanted = ++this.version;
    const deadline = Date.now() + this.settings.subscribeTimeoutMs;
    while (this.servedVersion < wanted) {
      if (!this.server)
        throw new DaprSubscriptionError(target.pubsubName, target.topic, 'the app server closed');
      if (Date.now() > deadline) {
        throw new DaprSubscriptionError(
          target.pubsubName,
          target.topic,
          `the sidecar did not read the app's subscriptions within ${this.settings.subscribeTimeoutMs} ms ` +
            '(is daprd started with --app-port and --enable-app-health-check, and did it not read them already?)',
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 200);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.add(done);
      });
    }
  }

  private wakeWaiters(): void {
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '').split('?')[0] ?? '';
    if (request.method === 'GET' && path === '/healthz') {
      response.writeHead(Date.now() >= this.healthyFrom ? 204 : 503).end();
      return;
    }
    if (request.method === 'GET' && path === '/dapr/subscribe') {
      const list = [...this.routes.values()].map((subscription) => ({
        pubsubname: subscription.target.pubsubName,
        topic: subscription.target.topic,
        route: subscription.route,
      }));
      this.servedVersion = this.version;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(list));
      this.wakeWaiters();
      return;
    }
    const subscription = request.method === 'POST' ? this.routes.get(path) : undefined;
    if (!subscription) {
      // 404 on an event route: daprd drops the event (it is for a subscription that closed).
      response.writeHead(404).end();
      return;
    }
    const body = await readBody(request);
    const status = await subscription.deliver(body);
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status }));
  }
}

/**
 * One app-callback subscription: a route of {@link AppCallbackServer}, the
 * same shape as an `EventStream` (`open`, `close`, `closing`).
 */
export class AppCallbackSubscription {
  private closed = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly server: AppCallbackServer,
    readonly route: string,
    readonly target: EventStreamTarget,
    private readonly onEvent: EventCallback,
    private readonly giveBack: GiveBackCallback | undefined,
  ) {}

  /** Whether `close()` was called. */
  get closing(): boolean {
    return this.closed;
  }

  /** Registers the route; resolves once daprd has read it. */
  open(): Promise<void> {
    return this.server.add(this);
  }

  /** Stops taking events and waits for those in flight (unfinished ones are given back). */
  async close(): Promise<void> {
    if (this.closed) return;
    // The route stays: daprd keeps posting to it while it runs, and those events are given back.
    this.closed = true;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Handles one posted CloudEvent; resolves with the status for daprd. */
  async deliver(body: Buffer): Promise<EventStatus> {
    const event = deliveredEventOf(body);
    const task = (async () => {
      const status = this.closed ? undefined : await this.onEvent(event, this);
      return status ?? (await this.unfinished(event));
    })();
    this.inFlight.add(task);
    try {
      return await task;
    } finally {
      this.inFlight.delete(task);
    }
  }

  /**
   * An event this subscription will not finish: republished, then SUCCESS
   * (no stream whose end could fail the delivery here), or RETRY without a
   * give-back or when the republish failed.
   */
  private async unfinished(event: DeliveredEvent): Promise<EventStatus> {
    if (!this.giveBack) return 'RETRY';
    // A pause first: daprd posts a given-back event to this closed route again while it runs.
    if (this.closed) await new Promise((resolve) => setTimeout(resolve, CLOSED_ROUTE_PAUSE_MS));
    try {
      await this.giveBack([event]);
      return 'SUCCESS';
    } catch {
      return 'RETRY';
    }
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error(`delivery body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * A posted CloudEvent as the event the consumer reads: `data_base64` (what
 * Herald publishes) or `data` (other publishers) as the payload bytes, the
 * other attributes as extensions. A body that is not a JSON object becomes an
 * event with that body as its data, which core then dead-letters.
 */
export function deliveredEventOf(body: Buffer): DeliveredEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { id: '', data: new Uint8Array(body) };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { id: '', data: new Uint8Array(body) };
  }
  const cloudEvent = parsed as Record<string, unknown>;
  const text = (name: string) => (typeof cloudEvent[name] === 'string' ? (cloudEvent[name] as string) : '');
  let data: Uint8Array;
  if (typeof cloudEvent.data_base64 === 'string') data = Buffer.from(cloudEvent.data_base64, 'base64');
  else if (typeof cloudEvent.data === 'string') data = Buffer.from(cloudEvent.data, 'utf8');
  else if (cloudEvent.data !== undefined) data = Buffer.from(JSON.stringify(cloudEvent.data), 'utf8');
  else data = new Uint8Array();
  const extensions: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(cloudEvent)) {
    if (name !== 'data' && name !== 'data_base64') {
      Object.defineProperty(extensions, name, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return {
    id: text('id'),
    data,
    type: text('type'),
    source: text('source'),
    dataContentType: text('datacontenttype'),
    extensions,
  };
}
