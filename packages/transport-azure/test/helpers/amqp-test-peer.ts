/**
 * A small AMQP 1.0 peer that answers the Azure Service Bus SDK (`@azure/service-bus`)
 * the way a Service Bus namespace does, for this package's tests. It is test
 * scaffolding built on `rhea` (the AMQP library the SDK itself uses), not a broker.
 *
 * What it models (the parts of the protocol the transport exercises):
 * - plain TCP on 127.0.0.1 and SASL ANONYMOUS (the SDK connects like this to the local
 *   emulator when the connection string says `UseDevelopmentEmulator=true`);
 * - `$cbs` put-token requests: every token is accepted (status 202) and recorded;
 * - queues, topics and topic subscriptions (`<topic>/Subscriptions/<name>`) with
 *   correlation-filter rules (`subject`, `to`, `correlationId`, `messageId`, `contentType`,
 *   `replyTo`, `sessionId`, application properties; `{}` matches everything);
 * - sender links: single messages (format 0) and the SDK's batch format 0x80013700
 *   (data sections that each hold one encoded message), the link's `max-message-size`
 *   (advertised and enforced), `x-opt-scheduled-enqueue-time` (the message becomes
 *   available at that time);
 * - receiver links with credit-based flow (and drain) in peek-lock mode: each delivery
 *   carries a lock token as its delivery tag (the GUID byte order the SDK expects),
 *   `x-opt-sequence-number`, `x-opt-enqueued-time`, `x-opt-locked-until` and the header's
 *   `delivery-count`; dispositions: accepted → complete, modified → abandon
 *   (delivery count + 1, redelivered), rejected → moved to the `$DeadLetterQueue` sub-queue
 *   with `DeadLetterReason` / `DeadLetterErrorDescription` from the error info;
 * - lock expiry (the message becomes available again with delivery count + 1; a later
 *   disposition fails with `com.microsoft:message-lock-lost`) and `maxDeliveryCount`
 *   (then dead-lettered with reason `MaxDeliveryCountExceeded`);
 * - `$management` requests `com.microsoft:renew-lock`, `com.microsoft:peek-message` and
 *   `com.microsoft:renew-session-lock`;
 * - sessions: a receiver attaching with a `com.microsoft:session-filter` gets the named
 *   session or the next unlocked session with available messages, the session lock
 *   (`com.microsoft:locked-until-utc`) and only that session's messages, in order;
 * - `restart()`: drops every connection and the listener and listens again on the same
 *   port, keeping entities and messages (a broker restart with durable storage).
 *
 * What it does NOT model (see the package README): TLS, SAS token validation and claims,
 * the HTTPS/ATOM administration API (entities are created by calling this class), duplicate
 * detection, time-to-live and expiry, deferral, transactions, partitioning, auto-forwarding,
 * SQL filters and rule actions, message-count quotas and throttling, the management
 * operations it does not list above (schedule-message, update-disposition, receive-by-
 * sequence-number, session state, …), waiting for a session to become available (an
 * accept-next-session with none available fails at once, where Service Bus waits for the
 * operation timeout), and redelivery of a drained link's messages (a drain is answered
 * without sending more).
 */
import type { AddressInfo, Server, Socket } from 'node:net';
import rhea from 'rhea';

const BATCH_FORMAT = 0x80013700;
const SESSION_FILTER = 'com.microsoft:session-filter';
const DEAD_LETTER = 'com.microsoft:dead-letter';
/** Ticks (100 ns) between 0001-01-01 and the Unix epoch: how Service Bus encodes link-property dates. */
const EPOCH_TICKS = 621_355_968_000_000_000n;

/** One correlation filter; every property that is set must be equal. `{}` matches everything. */
export interface CorrelationRule {
  readonly subject?: string;
  readonly to?: string;
  readonly correlationId?: string;
  readonly messageId?: string;
  readonly contentType?: string;
  readonly replyTo?: string;
  readonly sessionId?: string;
  readonly applicationProperties?: Readonly<Record<string, string | number | boolean | Date>>;
}

/** Settings of a queue or subscription. */
export interface EntitySettings {
  /** Peek-lock duration; default the peer's `lockDurationMs`. */
  readonly lockDurationMs?: number;
  /** Deliveries before the peer dead-letters a message; default 10 (the Service Bus default). */
  readonly maxDeliveryCount?: number;
  /** Session-enabled entity: receivers must accept a session. */
  readonly requiresSession?: boolean;
}

/** Options of {@link AmqpTestPeer.start}. */
export interface AmqpTestPeerOptions {
  /** Default peek-lock duration; 60 s like Service Bus unless a test shortens it. */
  readonly lockDurationMs?: number;
  /** `max-message-size` advertised on sender links; default 256 KiB (Standard tier). */
  readonly maxMessageSize?: number;
  /** Session lock duration; default `lockDurationMs`. */
  readonly sessionLockDurationMs?: number;
}

/** A message as stored by the peer. */
interface Stored {
  readonly seq: number;
  message: any;
  readonly enqueuedAt: Date;
  availableAt: number;
  deliveryCount: number;
  readonly sessionId: string | undefined;
  lock: Lock | undefined;
}

interface Lock {
  readonly token: string;
  until: number;
  timer: NodeJS.Timeout;
  readonly consumer: Consumer;
}

interface Consumer {
  readonly link: any;
  readonly entity: Entity;
  readonly sessionId: string | undefined;
  /** Deliveries handed to rhea that may not be on the wire yet (they still count against `link.credit`). */
  pending: any[];
  closed: boolean;
}

interface SessionLock {
  readonly id: string;
  readonly consumer: Consumer;
  until: number;
  timer: NodeJS.Timeout;
}

interface Entity {
  readonly path: string;
  readonly settings: Required<EntitySettings>;
  messages: Stored[];
  consumers: Consumer[];
  readonly sessions: Map<string, SessionLock>;
  readonly deadLetter: Entity | undefined;
  timer: NodeJS.Timeout | undefined;
  /** Round-robin start, so members of one group share the messages. */
  turn: number;
}

interface Topic {
  readonly name: string;
  readonly subscriptions: Map<string, { readonly entity: Entity; rules: CorrelationRule[] }>;
}

/** One transfer the peer accepted on a sender link (for assertions). */
export interface RecordedTransfer {
  readonly address: string;
  readonly batch: boolean;
  readonly messageCount: number;
  readonly bytes: number;
}

/** Counters and records for assertions. */
export interface PeerStats {
  connections: number;
  readonly putTokens: string[];
  readonly transfers: RecordedTransfer[];
  renewLocks: number;
  renewSessionLocks: number;
  peeks: number;
  readonly dispositions: { complete: number; abandon: number; deadLetter: number; lockLost: number };
  readonly managementOperations: string[];
}

const key = (name: string) => name.toLowerCase();

/** The Service Bus lock token's byte order on the wire (.NET GUID layout: first three groups swapped). */
function reorderGuid(bytes: Buffer): Buffer {
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  return Buffer.from(order.map((index) => bytes[index]!));
}

function ticksOf(ms: number): any {
  const ticks = BigInt(Math.floor(ms)) * 10_000n + EPOCH_TICKS;
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64BE(ticks);
  return rhea.types.wrap_long(bytes);
}

function numberOf(value: unknown): number {
  if (typeof value === 'number') return value;
  if (Buffer.isBuffer(value)) return Number(value.readBigInt64BE());
  return Number(value);
}

function matches(rule: CorrelationRule, message: any): boolean {
  const checks: Array<[string | undefined, unknown]> = [
    [rule.subject, message.subject],
    [rule.to, message.to],
    [rule.correlationId, message.correlation_id],
    [rule.messageId, message.message_id],
    [rule.contentType, message.content_type],
    [rule.replyTo, message.reply_to],
    [rule.sessionId, message.group_id],
  ];
  for (const [wanted, actual] of checks) if (wanted !== undefined && wanted !== actual) return false;
  for (const [name, wanted] of Object.entries(rule.applicationProperties ?? {})) {
    const actual = message.application_properties?.[name];
    const equal =
      wanted instanceof Date
        ? actual instanceof Date && actual.getTime() === wanted.getTime()
        : actual === wanted;
    if (!equal) return false;
  }
  return true;
}

/** The AMQP peer; see the module comment for what it models and what it does not. */
export class AmqpTestPeer {
  readonly stats: PeerStats = {
    connections: 0,
    putTokens: [],
    transfers: [],
    renewLocks: 0,
    renewSessionLocks: 0,
    peeks: 0,
    dispositions: { complete: 0, abandon: 0, deadLetter: 0, lockLost: 0 },
    managementOperations: [],
  };
  readonly #options: Required<AmqpTestPeerOptions>;
  readonly #container = rhea.create_container({ id: 'herald-amqp-test-peer' });
  readonly #topics = new Map<string, Topic>();
  readonly #entities = new Map<string, Entity>();
  /** Queues (senders may target a queue or a topic, never a subscription or dead-letter queue). */
  readonly #queues = new Set<string>();
  readonly #deliveries = new Map<any, { entity: Entity; stored: Stored; token: string }>();
  readonly #sockets = new Set<Socket>();
  readonly #connections = new Set<any>();
  #server: Server | undefined;
  #port = 0;
  #sequence = 0;

  private constructor(options: AmqpTestPeerOptions) {
    const lockDurationMs = options.lockDurationMs ?? 60_000;
    this.#options = {
      lockDurationMs,
      maxMessageSize: options.maxMessageSize ?? 256 * 1024,
      sessionLockDurationMs: options.sessionLockDurationMs ?? lockDurationMs,
    };
    this.#wire();
  }

  /** Starts a peer on 127.0.0.1 and a random port. */
  static async start(options: AmqpTestPeerOptions = {}): Promise<AmqpTestPeer> {
    const peer = new AmqpTestPeer(options);
    await peer.#listen(0);
    return peer;
  }

  get port(): number {
    return this.#port;
  }

  /** A connection string the SDK accepts: plain AMQP on this port, SAS key that the peer ignores. */
  get connectionString(): string {
    return `Endpoint=sb://127.0.0.1:${this.#port}/;SharedAccessKeyName=herald-test;SharedAccessKey=bm90LWEtcmVhbC1rZXk=;UseDevelopmentEmulator=true`;
  }

  // ---- entities (what the administration API would do) ----

  createQueue(name: string, settings: EntitySettings = {}): void {
    if (this.#entities.has(key(name))) return;
    this.#addEntity(name, settings);
    this.#queues.add(key(name));
  }

  createTopic(name: string): void {
    if (!this.#topics.has(key(name))) this.#topics.set(key(name), { name, subscriptions: new Map() });
  }

  hasTopic(name: string): boolean {
    return this.#topics.has(key(name));
  }

  /** Creates a subscription (or replaces its rules when it exists). Default rule: match everything. */
  createSubscription(
    topic: string,
    name: string,
    options: EntitySettings & { rules?: readonly CorrelationRule[] } = {},
  ): void {
    const owner = this.#topics.get(key(topic));
    if (!owner) throw new Error(`Topic "${topic}" does not exist`);
    const rules = [...(options.rules ?? [{}])];
    const existing = owner.subscriptions.get(key(name));
    if (existing) {
      existing.rules = rules;
      return;
    }
    const entity = this.#addEntity(`${topic}/Subscriptions/${name}`, options);
    owner.subscriptions.set(key(name), { entity, rules });
  }

  /** Messages of an entity or dead-letter sub-queue (`<path>/$DeadLetterQueue`), for assertions. */
  messagesOf(path: string): any[] {
    return (this.#entities.get(key(path))?.messages ?? []).map((stored) => stored.message);
  }

  /** Drops every connection and the listener, then listens on the same port again; entities and messages stay. */
  async restart(): Promise<void> {
    await this.#close();
    await this.#listen(this.#port);
  }

  async stop(): Promise<void> {
    await this.#close();
    for (const entity of this.#entities.values()) {
      if (entity.timer) clearTimeout(entity.timer);
      for (const stored of entity.messages) if (stored.lock) clearTimeout(stored.lock.timer);
    }
  }

  // ---- listener and connections ----

  async #listen(port: number): Promise<void> {
    const server = this.#container.listen({
      host: '127.0.0.1',
      port,
      // Dispositions are decided by the peer, not rhea.
      autoaccept: false,
      treat_modified_as_released: false,
    } as any);
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  async #close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    // Stop listening first; `close` only calls back once every socket is gone, so destroy them before waiting.
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const connection of [...this.#connections]) this.#dropConnection(connection);
    this.#connections.clear();
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await closed;
  }

  #wire(): void {
    const c = this.#container;
    c.on('connection_open', (context: any) => {
      this.stats.connections++;
      this.#connections.add(context.connection);
    });
    c.on('disconnected', (context: any) => this.#dropConnection(context.connection));
    c.on('connection_close', (context: any) => this.#dropConnection(context.connection));
    c.on('session_close', (context: any) => this.#dropLinks((link) => link.session === context.session));
    c.on('receiver_open', (context: any) => this.#onClientSender(context.receiver));
    c.on('sender_open', (context: any) => this.#onClientReceiver(context.sender));
    c.on('sender_close', (context: any) => this.#dropLinks((link) => link === context.sender));
    c.on('message', (context: any) => this.#onTransfer(context));
    c.on('sendable', (context: any) => this.#pumpLink(context.sender));
    c.on('sender_draining', (context: any) => context.sender.set_drained(true));
    c.on('accepted', (context: any) => this.#onDisposition(context.delivery, 'complete'));
    c.on('modified', (context: any) => this.#onDisposition(context.delivery, 'abandon'));
    c.on('released', (context: any) => this.#onDisposition(context.delivery, 'release'));
    c.on('rejected', (context: any) => this.#onDisposition(context.delivery, 'dead-letter'));
    // rhea raises unhandled link/connection errors on the container; a refused link is expected here.
    c.on('error', () => undefined);
    c.on('connection_error', () => undefined);
  }

  #dropConnection(connection: any): void {
    this.#connections.delete(connection);
    this.#dropLinks((link) => link.connection === connection);
  }

  /** Forgets consumers whose link is gone: their locked messages and sessions become available again. */
  #dropLinks(isGone: (link: any) => boolean): void {
    const touched = new Set<Entity>();
    for (const entity of this.#entities.values()) {
      for (const consumer of entity.consumers) {
        if (consumer.closed || !isGone(consumer.link)) continue;
        consumer.closed = true;
        touched.add(entity);
        for (const stored of entity.messages) {
          // Released without counting a delivery (Service Bus frees them at the latest when the lock expires).
          if (stored.lock?.consumer === consumer) this.#unlock(stored);
        }
        if (consumer.sessionId !== undefined) {
          const session = entity.sessions.get(consumer.sessionId);
          if (session?.consumer === consumer) {
            clearTimeout(session.timer);
            entity.sessions.delete(consumer.sessionId);
          }
        }
      }
      entity.consumers = entity.consumers.filter((consumer) => !consumer.closed);
    }
    for (const delivery of [...this.#deliveries.keys()])
      if (isGone(delivery.link)) this.#deliveries.delete(delivery);
    for (const entity of touched) this.#pump(entity);
  }

  // ---- attaching links ----

  /** The client attached a sender: the peer receives on `$cbs`, `<entity>/$management` or a queue/topic. */
  #onClientSender(link: any): void {
    const address: string = link.remote.attach?.target?.address ?? '';
    const known =
      address === '$cbs' ||
      (address.endsWith('/$management') && this.#entities.has(key(address.slice(0, -12)))) ||
      this.#topics.has(key(address)) ||
      this.#queues.has(key(address));
    if (!known) {
      this.#refuse(link, 'amqp:not-found', `The messaging entity '${address}' could not be found`);
      return;
    }
    link.set_target(link.remote.attach?.target ?? { address });
    if (address === '$cbs' || address.endsWith('/$management')) return;
    link.local.attach.max_message_size = this.#options.maxMessageSize;
    // The link gets credit from rhea's default window (autoaccept is off, so settlement is ours).
  }

  /** The client attached a receiver: the peer sends replies, or messages of a queue/subscription/DLQ. */
  #onClientReceiver(link: any): void {
    const source = link.remote.attach?.source ?? {};
    const address: string = source.address ?? '';
    // Answer a drain even when no credit is left (rhea only flags drain while credit remains).
    link._get_drain = function (this: any) {
      if (this._draining && this._drained) {
        this.delivery_count += this.credit;
        this.credit = 0;
        return true;
      }
      return false;
    };
    if (address === '$cbs' || address.endsWith('/$management')) {
      link.set_source(source);
      return;
    }
    const entity = this.#entities.get(key(address));
    if (!entity) {
      this.#refuse(link, 'amqp:not-found', `The messaging entity '${address}' could not be found`);
      return;
    }
    const filter = source.filter ?? {};
    const wantsSession = Object.hasOwn(filter, SESSION_FILTER);
    if (entity.settings.requiresSession !== wantsSession) {
      this.#refuse(
        link,
        'amqp:not-allowed',
        entity.settings.requiresSession
          ? `The entity '${address}' requires sessions: accept a session to receive`
          : `The entity '${address}' does not use sessions`,
      );
      return;
    }
    let sessionId: string | undefined;
    if (wantsSession) {
      const requested = unwrap(filter[SESSION_FILTER]);
      sessionId = requested ?? this.#nextSession(entity);
      if (sessionId === undefined) {
        this.#refuse(link, 'com.microsoft:timeout', 'No unlocked session with available messages');
        return;
      }
      if (entity.sessions.has(sessionId)) {
        this.#refuse(
          link,
          'com.microsoft:session-cannot-be-locked',
          `The session '${sessionId}' is locked by another receiver`,
        );
        return;
      }
    }
    link.set_source({ ...source, filter: wantsSession ? { [SESSION_FILTER]: sessionId } : source.filter });
    const consumer: Consumer = { link, entity, sessionId, pending: [], closed: false };
    if (sessionId !== undefined) {
      const until = Date.now() + this.#options.sessionLockDurationMs;
      link.local.attach.properties = { 'com.microsoft:locked-until-utc': ticksOf(until) };
      entity.sessions.set(sessionId, {
        id: sessionId,
        consumer,
        until,
        timer: this.#sessionLockTimer(entity, sessionId, until),
      });
    }
    entity.consumers.push(consumer);
  }

  #refuse(link: any, condition: string, description: string): void {
    // An attach answered with a null terminus followed by a detach carrying the error (AMQP 1.0 §2.6.3).
    link.close({ condition, description });
  }

  #nextSession(entity: Entity): string | undefined {
    const now = Date.now();
    for (const stored of entity.messages) {
      if (stored.sessionId === undefined || stored.lock || stored.availableAt > now) continue;
      if (!entity.sessions.has(stored.sessionId)) return stored.sessionId;
    }
    return undefined;
  }

  #sessionLockTimer(entity: Entity, sessionId: string, until: number): NodeJS.Timeout {
    const timer = setTimeout(
      () => {
        const session = entity.sessions.get(sessionId);
        if (!session || session.until > Date.now()) return;
        // The session lock expired: the service detaches the link; its messages become available.
        session.consumer.link.close({
          condition: 'com.microsoft:session-lock-lost',
          description: `The session lock of '${sessionId}' expired`,
        });
        this.#dropLinks((link) => link === session.consumer.link);
      },
      Math.max(0, until - Date.now()) + 5,
    );
    timer.unref();
    return timer;
  }

  // ---- incoming transfers ----

  #onTransfer(context: any): void {
    const link = context.receiver;
    const delivery = context.delivery;
    const address: string = link.remote.attach?.target?.address ?? '';
    if (address === '$cbs') {
      this.#onCbs(link, context.message);
      delivery.accept();
      return;
    }
    if (address.endsWith('/$management')) {
      this.#onManagement(link, address.slice(0, -12), context.message);
      delivery.accept();
      return;
    }
    const batch = context.format === BATCH_FORMAT;
    const raw: Buffer | undefined = batch ? context.message : undefined;
    const size = raw ? raw.length : rhea.message.encode(context.message).length;
    if (size > this.#options.maxMessageSize) {
      delivery.reject({
        condition: 'amqp:link:message-size-exceeded',
        description: `The message of ${size} bytes exceeds the limit of ${this.#options.maxMessageSize} bytes`,
      });
      return;
    }
    let messages: any[];
    try {
      messages = batch ? decodeBatch(raw!) : [context.message];
    } catch (error) {
      delivery.reject({ condition: 'amqp:decode-error', description: String(error) });
      return;
    }
    this.stats.transfers.push({ address, batch, messageCount: messages.length, bytes: size });
    for (const message of messages) this.#enqueue(address, message);
    delivery.accept();
  }

  #enqueue(address: string, message: any): void {
    const topic = this.#topics.get(key(address));
    const targets: Entity[] = [];
    if (topic) {
      for (const { entity, rules } of topic.subscriptions.values()) {
        if (rules.some((rule) => matches(rule, message))) targets.push(entity);
      }
    } else {
      const queue = this.#entities.get(key(address));
      if (queue) targets.push(queue);
    }
    const now = Date.now();
    const scheduled = message.message_annotations?.['x-opt-scheduled-enqueue-time'];
    const availableAt = scheduled instanceof Date ? Math.max(now, scheduled.getTime()) : now;
    for (const entity of targets) {
      entity.messages.push({
        seq: ++this.#sequence,
        message: { ...message, message_annotations: { ...message.message_annotations } },
        enqueuedAt: new Date(now),
        availableAt,
        deliveryCount: 0,
        sessionId: typeof message.group_id === 'string' ? message.group_id : undefined,
        lock: undefined,
      });
      this.#pump(entity);
    }
  }

  // ---- delivering ----

  #pumpLink(link: any): void {
    for (const entity of this.#entities.values()) {
      if (entity.consumers.some((consumer) => consumer.link === link)) this.#pump(entity);
    }
  }

  /** Sends available messages to consumers with credit, round-robin, and arms the next availability timer. */
  #pump(entity: Entity): void {
    const now = Date.now();
    let progress = true;
    while (progress) {
      progress = false;
      const count = entity.consumers.length;
      for (let offset = 0; offset < count; offset++) {
        const consumer = entity.consumers[(entity.turn + offset) % count]!;
        if (consumer.closed || creditOf(consumer) <= 0) continue;
        const next = entity.messages.find(
          (stored) =>
            !stored.lock &&
            stored.availableAt <= now &&
            (consumer.sessionId === undefined || stored.sessionId === consumer.sessionId),
        );
        if (!next) continue;
        this.#send(entity, consumer, next, now);
        entity.turn = (entity.turn + offset + 1) % count;
        progress = true;
        break;
      }
    }
    if (entity.timer) clearTimeout(entity.timer);
    entity.timer = undefined;
    const upcoming = entity.messages
      .filter((stored) => !stored.lock && stored.availableAt > now)
      .reduce((min, stored) => Math.min(min, stored.availableAt), Number.POSITIVE_INFINITY);
    if (Number.isFinite(upcoming) && entity.consumers.length > 0) {
      entity.timer = setTimeout(() => this.#pump(entity), upcoming - now + 1);
      entity.timer.unref();
    }
  }

  #send(entity: Entity, consumer: Consumer, stored: Stored, now: number): void {
    const token = rhea.generate_uuid();
    const until = now + entity.settings.lockDurationMs;
    stored.lock = { token, until, consumer, timer: this.#lockTimer(entity, stored, token, until) };
    const delivery = consumer.link.send(
      {
        ...stored.message,
        delivery_count: stored.deliveryCount,
        message_annotations: {
          ...stored.message.message_annotations,
          'x-opt-sequence-number': rhea.types.wrap_long(stored.seq),
          'x-opt-enqueued-time': stored.enqueuedAt,
          'x-opt-locked-until': new Date(until),
        },
      },
      // The SDK reads the lock token from the delivery tag in .NET GUID byte order.
      reorderGuid(rhea.string_to_uuid(token)),
    );
    consumer.pending.push(delivery);
    this.#deliveries.set(delivery, { entity, stored, token });
  }

  #lockTimer(entity: Entity, stored: Stored, token: string, until: number): NodeJS.Timeout {
    const timer = setTimeout(
      () => {
        if (stored.lock?.token !== token) return;
        if (stored.lock.until > Date.now()) {
          stored.lock.timer = this.#lockTimer(entity, stored, token, stored.lock.until);
          return;
        }
        // The lock expired: the message counts as delivered once more and becomes available again.
        this.#unlock(stored);
        stored.deliveryCount++;
        this.#afterFailedDelivery(entity, stored);
      },
      Math.max(0, until - Date.now()) + 1,
    );
    timer.unref();
    return timer;
  }

  #unlock(stored: Stored): void {
    if (stored.lock) clearTimeout(stored.lock.timer);
    stored.lock = undefined;
  }

  #afterFailedDelivery(entity: Entity, stored: Stored): void {
    if (stored.deliveryCount >= entity.settings.maxDeliveryCount) {
      this.#moveToDeadLetter(
        entity,
        stored,
        'MaxDeliveryCountExceeded',
        'Message could not be consumed after max delivery attempts',
      );
    }
    this.#pump(entity);
  }

  #moveToDeadLetter(
    entity: Entity,
    stored: Stored,
    reason?: string,
    description?: string,
    properties: object = {},
  ) {
    entity.messages = entity.messages.filter((other) => other !== stored);
    const target = entity.deadLetter;
    if (!target) return;
    const applicationProperties = { ...stored.message.application_properties, ...properties };
    if (reason !== undefined) applicationProperties.DeadLetterReason = reason;
    if (description !== undefined) applicationProperties.DeadLetterErrorDescription = description;
    target.messages.push({
      ...stored,
      message: {
        ...stored.message,
        application_properties: applicationProperties,
        message_annotations: {
          ...stored.message.message_annotations,
          'x-opt-deadletter-source': entity.path,
        },
      },
      availableAt: Date.now(),
      lock: undefined,
    });
    this.#pump(target);
  }

  // ---- dispositions from receivers ----

  #onDisposition(delivery: any, outcome: 'complete' | 'abandon' | 'release' | 'dead-letter'): void {
    const record = this.#deliveries.get(delivery);
    if (!record) {
      // A reply on a request/response link (or a delivery of a link that is gone): just settle it.
      delivery.update(true);
      return;
    }
    this.#deliveries.delete(delivery);
    const { entity, stored, token } = record;
    if (stored.lock?.token !== token) {
      this.stats.dispositions.lockLost++;
      delivery.update(
        true,
        (rhea.message as any)
          .rejected({
            error: {
              condition: 'com.microsoft:message-lock-lost',
              description: 'The lock supplied is invalid: it expired, or the message was already removed',
            },
          } as any)
          .described(),
      );
      return;
    }
    this.#unlock(stored);
    const state = delivery.remote_state ?? {};
    if (outcome === 'complete') {
      this.stats.dispositions.complete++;
      entity.messages = entity.messages.filter((other) => other !== stored);
    } else if (outcome === 'abandon' || outcome === 'release') {
      if (state.undeliverable_here) {
        // Deferral is not modeled; refuse it so the caller notices.
        stored.lock = undefined;
        delivery.update(
          true,
          (rhea.message as any)
            .rejected({
              error: { condition: 'amqp:not-implemented', description: 'Deferral is not modeled' },
            } as any)
            .described(),
        );
        this.#pump(entity);
        return;
      }
      if (outcome === 'abandon') {
        this.stats.dispositions.abandon++;
        stored.deliveryCount++;
        if (state.message_annotations) {
          stored.message = {
            ...stored.message,
            application_properties: {
              ...stored.message.application_properties,
              ...state.message_annotations,
            },
          };
        }
      }
    } else {
      this.stats.dispositions.deadLetter++;
      const error = state.error ?? {};
      const info = { ...(error.info ?? {}) };
      const reason = info.DeadLetterReason ?? (error.condition === DEAD_LETTER ? undefined : error.condition);
      const description = info.DeadLetterErrorDescription ?? error.description;
      delete info.DeadLetterReason;
      delete info.DeadLetterErrorDescription;
      this.#moveToDeadLetter(entity, stored, reason, description, info);
    }
    delivery.update(true, settledState(outcome));
    if (outcome === 'abandon') this.#afterFailedDelivery(entity, stored);
    else this.#pump(entity);
  }

  // ---- request/response nodes ----

  #reply(
    link: any,
    request: any,
    status: number,
    body?: unknown,
    condition?: string,
    description?: string,
    style: 'cbs' | 'management' = 'management',
  ): void {
    const replyTo: string | undefined = request.reply_to;
    const sender = link.connection.find_sender(
      (candidate: any) => candidate.name === replyTo || candidate.remote?.attach?.target?.address === replyTo,
    );
    if (!sender) return;
    // $cbs answers with `status-code`; $management with `statusCode` (the SDK reads both spellings).
    const names =
      style === 'cbs'
        ? { code: 'status-code', description: 'status-description', condition: 'error-condition' }
        : { code: 'statusCode', description: 'statusDescription', condition: 'errorCondition' };
    const applicationProperties: Record<string, unknown> = {
      [names.code]: status,
      [names.description]: description ?? (status < 300 ? 'OK' : 'Error'),
    };
    if (condition) applicationProperties[names.condition] = condition;
    sender.send({
      correlation_id: request.message_id,
      application_properties: applicationProperties,
      ...(body === undefined ? {} : { body }),
    });
  }

  #onCbs(link: any, request: any): void {
    const props = request.application_properties ?? {};
    if (props.operation !== 'put-token') {
      this.#reply(
        link,
        request,
        400,
        undefined,
        'amqp:not-implemented',
        `Unknown CBS operation ${props.operation}`,
        'cbs',
      );
      return;
    }
    this.stats.putTokens.push(String(props.name));
    this.#reply(link, request, 202, undefined, undefined, 'Accepted', 'cbs');
  }

  #onManagement(link: any, path: string, request: any): void {
    const entity = this.#entities.get(key(path));
    const operation: string = request.application_properties?.operation ?? '';
    this.stats.managementOperations.push(operation);
    if (!entity) {
      this.#reply(
        link,
        request,
        404,
        undefined,
        'amqp:not-found',
        `The messaging entity '${path}' could not be found`,
      );
      return;
    }
    const body = request.body ?? {};
    if (operation === 'com.microsoft:renew-lock') {
      this.stats.renewLocks++;
      const expirations: Date[] = [];
      for (const raw of body['lock-tokens'] ?? []) {
        const token = rhea.uuid_to_string(raw);
        const stored = entity.messages.find((candidate) => candidate.lock?.token === token);
        if (!stored?.lock) {
          this.#reply(
            link,
            request,
            410,
            undefined,
            'com.microsoft:message-lock-lost',
            'The lock supplied is invalid: it expired, or the message was already removed',
          );
          return;
        }
        stored.lock.until = Date.now() + entity.settings.lockDurationMs;
        expirations.push(new Date(stored.lock.until));
      }
      this.#reply(link, request, 200, { expirations });
      return;
    }
    if (operation === 'com.microsoft:peek-message') {
      this.stats.peeks++;
      const from = numberOf(body['from-sequence-number'] ?? 0);
      const count = numberOf(body['message-count'] ?? 1);
      const sessionId: string | undefined = body['session-id'];
      const found = entity.messages
        .filter((stored) => stored.seq >= from && (sessionId === undefined || stored.sessionId === sessionId))
        .sort((a, b) => a.seq - b.seq)
        .slice(0, count);
      if (found.length === 0) {
        // Service Bus answers an empty peek with 204 No Content.
        this.#reply(link, request, 204, undefined, undefined, 'No Content');
        return;
      }
      const messages = found.map((stored) => ({
        message: rhea.message.encode({
          ...stored.message,
          delivery_count: stored.deliveryCount,
          message_annotations: {
            ...stored.message.message_annotations,
            'x-opt-sequence-number': rhea.types.wrap_long(stored.seq),
            'x-opt-enqueued-time': stored.enqueuedAt,
          },
        }),
      }));
      this.#reply(link, request, 200, { messages });
      return;
    }
    if (operation === 'com.microsoft:renew-session-lock') {
      this.stats.renewSessionLocks++;
      const session = entity.sessions.get(String(body['session-id']));
      if (!session) {
        this.#reply(
          link,
          request,
          410,
          undefined,
          'com.microsoft:session-lock-lost',
          'The session lock was lost',
        );
        return;
      }
      session.until = Date.now() + this.#options.sessionLockDurationMs;
      clearTimeout(session.timer);
      session.timer = this.#sessionLockTimer(entity, session.id, session.until);
      this.#reply(link, request, 200, { expiration: new Date(session.until) });
      return;
    }
    this.#reply(
      link,
      request,
      501,
      undefined,
      'amqp:not-implemented',
      `The peer does not model ${operation}`,
    );
  }

  #addEntity(path: string, settings: EntitySettings): Entity {
    const resolved: Required<EntitySettings> = {
      lockDurationMs: settings.lockDurationMs ?? this.#options.lockDurationMs,
      maxDeliveryCount: settings.maxDeliveryCount ?? 10,
      requiresSession: settings.requiresSession ?? false,
    };
    const deadLetter: Entity = {
      path: `${path}/$DeadLetterQueue`,
      settings: { ...resolved, requiresSession: false, maxDeliveryCount: Number.POSITIVE_INFINITY },
      messages: [],
      consumers: [],
      sessions: new Map(),
      deadLetter: undefined,
      timer: undefined,
      turn: 0,
    };
    const entity: Entity = {
      path,
      settings: resolved,
      messages: [],
      consumers: [],
      sessions: new Map(),
      deadLetter,
      timer: undefined,
      turn: 0,
    };
    this.#entities.set(key(path), entity);
    this.#entities.set(key(deadLetter.path), deadLetter);
    return entity;
  }
}

/** The outcome the peer settles a delivery with (the SDK only looks for an error in it). */
function settledState(outcome: 'complete' | 'abandon' | 'release' | 'dead-letter'): unknown {
  if (outcome === 'complete') return (rhea.message as any).accepted().described();
  if (outcome === 'dead-letter') return (rhea.message as any).rejected({}).described();
  return (rhea.message as any).modified({ delivery_failed: outcome === 'abandon' }).described();
}

/** Credit left on a consumer's link: rhea lowers `credit` only when a transfer is written. */
function creditOf(consumer: Consumer): number {
  const outgoing = consumer.link.session?.outgoing;
  if (!outgoing || !consumer.link.is_open()) return 0;
  consumer.pending = consumer.pending.filter((delivery) => delivery.id >= outgoing.next_pending_delivery);
  return consumer.link.credit - consumer.pending.length;
}

/** The SDK's batch: one AMQP message whose data sections each hold one encoded message. */
function decodeBatch(raw: Buffer): any[] {
  const envelope = rhea.message.decode(raw);
  const body = envelope.body;
  if (body?.typecode !== 0x75) throw new Error('A batch must carry data sections');
  const sections: Buffer[] = body.multiple ? body.content : [body.content];
  return sections.map((section) => rhea.message.decode(section));
}

function unwrap(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && 'value' in (value as object))
    return unwrap((value as { value: unknown }).value);
  return String(value);
}
