import { accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  consoleLogger,
  type HeraldOptions,
  type InProcessBroker,
  type Logger,
  type Transport,
} from '@herald/core';
import type { MongoEventLogOptions } from '@herald/outbox-mongo';
import type { PrismaEventLogOptions } from '@herald/outbox-prisma';
import type { Db, MongoClient } from 'mongodb';
import { SERVICES, type ServiceName } from './contracts.js';
import { type DemoPrisma, mongoEventLogOptions, type OpenDatabase, openDatabase } from './database.js';
import { createTransport } from './transport.js';

/** `--transport`: where events travel. `inprocess` runs every service in one process. */
export const TRANSPORTS = ['inprocess', 'rabbitmq', 'kafka', 'azure', 'dapr'] as const;
export type TransportKind = (typeof TRANSPORTS)[number];

/** `--db`: the engine of every service's own database. */
export const DATABASES = ['sqlite', 'postgres', 'mariadb', 'mongodb'] as const;
export type DatabaseKind = (typeof DATABASES)[number];

/** Everything the flags and the environment decide. */
export interface DemoConfig {
  readonly transport: TransportKind;
  readonly db: DatabaseKind;
  /** Names this run's broker objects (exchange, topics), so runs never see each other's messages. */
  readonly run: string;
  /** Prefix of the databases (`<namespace>_catalog`, …) and broker objects. */
  readonly namespace: string;
  /** Where the SQLite files live. */
  readonly dataDir: string;
  readonly products: number;
  readonly orders: number;
  /** Every `smsEvery`-th order also asks for a text message (the poison event). */
  readonly smsEvery: number;
  /** SIGKILL this service mid-run and start it again (separate processes only). */
  readonly kill: ServiceName | undefined;
  /** Keep the SQLite files and the run's broker objects afterwards. */
  readonly keep: boolean;
  /** A service started on its own creates what is missing in its database first. */
  readonly migrate: boolean;
  /** How long to wait for every service to catch up before the ledger is taken. */
  readonly settleTimeoutMs: number;
  readonly quiet: boolean;
  readonly urls: {
    readonly postgres: string;
    readonly mariadb: string;
    readonly mongodb: string;
    readonly rabbitmq: string;
    readonly kafka: readonly string[];
    /** The Redis behind the Dapr sidecars' pub/sub component (--transport dapr). */
    readonly redis: string;
    readonly azure: string | undefined;
  };
}

export const USAGE = `usage: npm run demo -- [options]      (or: node dist/main.js [options])

  --transport inprocess|rabbitmq|kafka|azure|dapr   default inprocess (env HERALD_DEMO_TRANSPORT)
  --db sqlite|postgres|mariadb|mongodb         default sqlite    (env HERALD_DEMO_DB)
  --products N --orders N --sms-every N        workload size (default 20, 100, 10)
  --kill catalog|ordering|notification         SIGKILL that service mid-run, then restart it
  --namespace NAME                             database/broker name prefix (default demo)
  --data-dir DIR                               SQLite files (default /dev/shm/herald-<namespace>-<run>,
                                               else herald-<namespace>-<run> in the temp dir)
  --keep                                       keep SQLite files and the run's broker objects
  --timeout SECONDS                            wait this long for the services to catch up (default 60)
  --quiet                                      print only the ledger lines
  --migrate                                    (a service's own process) create its missing tables first

  inprocess runs the three services in one process; rabbitmq, kafka, azure and dapr run each
  service as its own process (dapr: with a daprd sidecar each, Redis Streams behind them).
  Engines: HERALD_PG_URL, HERALD_MARIADB_URL, HERALD_MONGO_URL, HERALD_RABBITMQ_URL,
  HERALD_KAFKA_BROKERS, HERALD_REDIS_URLS, AZURE_SERVICEBUS_CONNECTION_STRING (see README.md).
  mongodb (FerretDB) has no transactions: business writes and events are not atomic there.`;

/** A bad flag or an unsupported combination: printed with the usage, exit code 2. */
export class UsageError extends Error {}

function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined || value === '') return fallback;
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`${flag} must be one of ${allowed.join(', ')}; got "${value}"`);
  return value as T;
}

function count(flag: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${flag} must be an integer ≥ ${min}; got "${value}"`);
  return n;
}

/**
 * Where the throwaway SQLite files go by default: /dev/shm (memory) where it exists, so the
 * demo's many small commits do not each wait for a disk flush; the system's temp dir otherwise.
 * A killed process loses nothing either way: its committed pages are in the kernel's cache.
 */
function scratchDir(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

/** Parses `--flag value` / `--flag=value` arguments; environment variables fill in what flags leave open. */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): DemoConfig {
  const flags = new Map<string, string>();
  const booleans = new Set(['keep', 'quiet', 'help', 'migrate']);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') continue;
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new UsageError(`unexpected argument "${arg}"`);
    const name = match[1]!;
    if (booleans.has(name)) flags.set(name, 'true');
    else {
      const value = match[2] ?? argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      flags.set(name, value);
    }
  }
  const known = new Set([
    ...booleans,
    'transport',
    'db',
    'products',
    'orders',
    'sms-every',
    'kill',
    'namespace',
    'run',
    'data-dir',
    'timeout',
  ]);
  for (const name of flags.keys()) if (!known.has(name)) throw new UsageError(`unknown option --${name}`);
  if (flags.has('help')) throw new UsageError('');

  const transport = oneOf(
    '--transport',
    flags.get('transport') ?? env.HERALD_DEMO_TRANSPORT,
    TRANSPORTS,
    'inprocess',
  );
  const db = oneOf('--db', flags.get('db') ?? env.HERALD_DEMO_DB, DATABASES, 'sqlite');
  const kill = flags.has('kill') ? oneOf('--kill', flags.get('kill'), SERVICES, 'ordering') : undefined;
  if (kill && transport === 'inprocess') {
    throw new UsageError(
      '--kill needs separate processes: choose --transport rabbitmq, kafka, azure or dapr',
    );
  }
  const namespace = flags.get('namespace') ?? env.HERALD_DEMO_NAMESPACE ?? 'demo';
  if (!/^[a-z][a-z0-9_]{0,30}$/.test(namespace))
    throw new UsageError('--namespace must be lowercase letters, digits or _ (a database name prefix)');
  const run = flags.get('run') ?? `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const products = count('--products', flags.get('products'), 20, 3);
  const azure = env.AZURE_SERVICEBUS_CONNECTION_STRING;
  if (transport === 'azure' && !azure) {
    throw new UsageError(
      '--transport azure needs a Service Bus namespace: set AZURE_SERVICEBUS_CONNECTION_STRING ' +
        '(Standard or Premium tier, Manage rights; the demo creates its topic and subscriptions)',
    );
  }
  return {
    transport,
    db,
    run,
    namespace,
    dataDir: flags.get('data-dir') ?? join(scratchDir(), `herald-${namespace}-${run}`),
    products,
    orders: count('--orders', flags.get('orders'), 100),
    smsEvery: count('--sms-every', flags.get('sms-every'), 10),
    kill,
    keep: flags.has('keep'),
    migrate: flags.has('migrate'),
    settleTimeoutMs: count('--timeout', flags.get('timeout'), 60) * 1000,
    quiet: flags.has('quiet'),
    urls: {
      postgres: env.HERALD_PG_URL ?? 'postgres://herald:herald@127.0.0.1:5432/herald',
      mariadb: env.HERALD_MARIADB_URL ?? 'mysql://herald:herald@127.0.0.1:3306/herald',
      mongodb: env.HERALD_MONGO_URL ?? 'mongodb://127.0.0.1:27017/',
      rabbitmq: env.HERALD_RABBITMQ_URL ?? 'amqp://herald:herald@127.0.0.1:5672',
      kafka: (env.HERALD_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').filter(Boolean),
      redis: (env.HERALD_REDIS_URLS ?? 'redis://127.0.0.1:6379').split(',')[0]!,
      azure,
    },
  };
}

/** The flags that recreate `config` in a service process (same run, same databases). */
export function configArgs(config: DemoConfig): string[] {
  return [
    `--transport=${config.transport}`,
    `--db=${config.db}`,
    `--namespace=${config.namespace}`,
    `--run=${config.run}`,
    `--data-dir=${config.dataDir}`,
  ];
}

/** The command that starts an engine, for error messages. */
export function upCommand(engine: string): string {
  return `bash tooling/services/up.sh ${engine}`;
}

/** What every service gets, whatever its database: a transport, options, a logger. */
interface CommonEnvironment {
  readonly service: ServiceName;
  /** In-process, RabbitMQ, Kafka, Azure Service Bus or Dapr, per `--transport`. */
  readonly transport: Transport;
  /** Demo timings: short retries and leases so a run takes seconds. */
  readonly options: Partial<HeraldOptions>;
  readonly logger: Logger;
}

/**
 * What a service gets from the demo's configuration: its own database, a transport, options.
 * The services build their bus from these exactly as the README shows.
 */
export interface ServiceEnvironment extends CommonEnvironment {
  /** This service's own database (no other service reads or writes it). */
  readonly prisma: DemoPrisma;
  /** `prismaEventLog(prisma, eventLogOptions)`: the outbox and inbox next to the business tables. */
  readonly eventLogOptions: PrismaEventLogOptions;
}

/** The same for `--db mongodb`: the service's own MongoDB database (src/services/*.mongo.ts). */
export interface MongoServiceEnvironment extends CommonEnvironment {
  readonly client: MongoClient;
  /** This service's own database (no other service reads or writes it). */
  readonly db: Db;
  /** `mongoEventLog(client, eventLogOptions)`: outbox and inbox collections in `db`, `transactions: 'off'`. */
  readonly eventLogOptions: MongoEventLogOptions;
}

/** Short intervals: the demo retries in milliseconds what production retries in minutes. */
export function demoOptions(config: DemoConfig): Partial<HeraldOptions> {
  return {
    localRetryTimes: 1,
    localFailedRetryInterval: 50,
    maxRetryTimes: 2,
    failedRetryInterval: 200,
    retryBackoff: () => 200,
    pollingInterval: 250,
    // The lease of a claimed outbox record or inbox entry: what a killed process leaves behind
    // is taken over after this long (nothing is killed in one process: a longer lease there).
    // A handler must finish well within it, even on a busy machine.
    minimumRetryInterval: config.transport === 'inprocess' ? 10_000 : 8_000,
    handlerTimeout: 6_000,
  };
}

/** Opens a service's database and transport: the environment its bus is built from. */
export async function serviceEnvironment(
  config: DemoConfig,
  service: ServiceName,
  broker?: InProcessBroker,
): Promise<(ServiceEnvironment | MongoServiceEnvironment) & { database: OpenDatabase }> {
  const logger = consoleLogger((process.env.HERALD_LOG_LEVEL as 'warn' | undefined) ?? 'error');
  const database = await openDatabase(config, service);
  if (database.kind === 'mongodb') {
    return {
      service,
      database,
      client: database.client,
      db: database.db,
      eventLogOptions: mongoEventLogOptions(database.name, logger),
      transport: await createTransport(config, service, logger, broker),
      options: demoOptions(config),
      logger,
    };
  }
  return {
    service,
    database,
    prisma: database.prisma,
    eventLogOptions: {
      provider: database.provider,
      databaseName: `${config.namespace}_${service}`,
      ...(database.readClient ? { readClient: database.readClient } : {}),
      // PostgreSQL as outbox-prisma's README recommends: the relay is woken by LISTEN/NOTIFY at
      // each commit (also its own process's) and claims on a small pool of its own.
      ...(database.url
        ? {
            notify: { connectionString: database.url },
            relayConnection: { connectionString: database.url, poolSize: 2 },
          }
        : {}),
      logger,
    },
    transport: await createTransport(config, service, logger, broker),
    options: demoOptions(config),
    logger,
  };
}
