// The demo's driver: `npm run demo [-- flags]` (see README.md and `--help`).
// --transport inprocess (default): catalog, ordering and notification run in this process on
// the in-process transport, each with its own SQLite file. Any other transport: each service
// runs as its own process (service-process.ts) and this process only drives the workload and
// reads the services' databases. Either way the run ends with the ledger line
// `demo ok: published=N handled=N duplicates=0 lost=0`, computed from those databases.
import { rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { InProcessBroker, sleep } from '@herald/core';
import {
  brokerNames,
  configArgs,
  countMonitoringEvents,
  type DemoConfig,
  databaseName,
  dropMongoDatabases,
  emptyCounts,
  type MonitorCounts,
  monitoringLine,
  type OpenDatabase,
  openDatabase,
  parseConfig,
  prepareDatabase,
  SERVICES,
  type ServiceName,
  serviceEnvironment,
  USAGE,
  UsageError,
} from '@herald/demo-kit';
import { deleteBrokerObjects } from './cleanup.js';
import { startDaprSidecars } from './dapr-sidecars.js';
import { checkEngines } from './engines.js';
import { type Ledger, ledgerLine, ledgerOk, readLedger } from './ledger.js';
import { ServiceProcess } from './processes.js';
import { createService, type DemoService, invoke } from './services.js';
import { type Call, runWorkload } from './workload.js';

/** What a run found. */
export interface DemoResult {
  readonly ledger: Ledger;
  readonly monitor: MonitorCounts;
  readonly ok: boolean;
}

/** Runs the demo end to end with `config`; `say` receives the progress lines. */
export async function runDemo(
  config: DemoConfig,
  say: (line: string) => void = console.log,
): Promise<DemoResult> {
  const where =
    config.db === 'sqlite'
      ? `SQLite files in ${config.dataDir}`
      : `${config.db} databases ${databaseName(config, 'catalog').replace(/catalog$/, '*')}`;
  await checkEngines(config, undefined, (line) => console.error(line));
  for (const service of SERVICES) await prepareDatabase(config, service);
  say(`› each service has its own database: ${where}`);
  if (config.db === 'mongodb')
    say(
      "› mongodb: no multi-document transactions (FerretDB), event logs run with transactions: 'off' — a business " +
        'write and its outbox record are NOT atomic, handlers do not run in a transaction with the inbox; ' +
        'business writes and effects are idempotent by key instead (see README.md)',
    );
  // --transport dapr: a sidecar per service, started before the services and stopped after them.
  const sidecars =
    config.transport === 'dapr'
      ? await startDaprSidecars({
          appIdPrefix: brokerNames(config).exchange,
          dataDir: config.dataDir,
          redisUrl: config.urls.redis,
        })
      : undefined;
  if (sidecars) say('› a Dapr sidecar (daprd, self-hosted) per service, Redis Streams behind them');
  const running = await (config.transport === 'inprocess'
    ? startInProcess(config)
    : startProcesses(config)
  ).catch(async (error: unknown) => {
    await sidecars?.stop();
    throw error;
  });
  const { call, monitor } = running;
  say(
    config.transport === 'inprocess'
      ? '› catalog, ordering and notification started in this process (in-process transport)'
      : `› catalog, ordering and notification started as 3 processes (${config.transport}; pids ${running.pids()})`,
  );

  const databases = {} as Record<ServiceName, OpenDatabase>;
  for (const service of SERVICES) databases[service] = await openDatabase(config, service);
  let ledger: Ledger;
  try {
    let restart: Promise<void> | undefined;
    const killAt = Math.max(1, Math.floor(config.orders * 0.4));
    await runWorkload(config, call, say, async (sent) => {
      if (!config.kill || sent !== killAt) return;
      const victim = config.kill;
      await running.kill(victim);
      say(`› killed ${victim} (SIGKILL) with order ${sent} in flight; starting it again in 1 s`);
      const killedAt = Date.now();
      restart = sleep(1_000)
        .then(() => running.restart(victim))
        .then(() =>
          say(
            `› ${victim} is running again (${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill)`,
          ),
        );
    });
    await restart;

    // Wait until every service has caught up (or the time is up), then stop them gracefully.
    const deadline = Date.now() + config.settleTimeoutMs;
    ledger = await readLedger(databases);
    while (!ledgerOk(ledger) && Date.now() < deadline) {
      if (process.env.HERALD_DEMO_DEBUG) say(`  waiting: ${JSON.stringify({ ...ledger, facts: undefined })}`);
      await sleep(200);
      ledger = await readLedger(databases);
    }
  } finally {
    await running.stop();
    await sidecars?.stop();
    if (!config.keep && config.transport !== 'inprocess')
      await deleteBrokerObjects(config).catch((error) =>
        say(`› could not delete the run's broker objects: ${error}`),
      );
  }
  ledger = await readLedger(databases); // after the stop: nothing can change any more
  for (const database of Object.values(databases)) await database.close();
  if (config.db === 'sqlite' && !config.keep) rmSync(config.dataDir, { recursive: true, force: true });
  if (config.db === 'mongodb' && !config.keep)
    await dropMongoDatabases(config, SERVICES).catch((error) =>
      say(`› could not drop the run's MongoDB databases: ${error}`),
    );

  say(`› ${monitoringLine(monitor)}`);
  for (const fact of ledger.facts) say(`› ${fact}`);
  for (const problem of ledger.problems) say(`✖ ${problem}`);
  if (ledger.unpublished > 0) say(`✖ ${ledger.unpublished} outbox records were never published`);
  const attempts = ledger.deadLetterAttempts !== undefined ? `, attempts=${ledger.deadLetterAttempts}` : '';
  const reason = ledger.deadLetterReason ? `, reason "${ledger.deadLetterReason}"` : '';
  say(
    `dead-lettered=${ledger.deadLettered} of ${ledger.poison} as designed (ordering.sms-requested: notification's SMS gateway always fails; listed dead in notification's inbox${attempts}${reason})`,
  );
  return { ledger, monitor, ok: ledgerOk(ledger) };
}

interface Running {
  call: Call;
  monitor: MonitorCounts;
  pids(): string;
  kill(service: ServiceName): Promise<void>;
  restart(service: ServiceName): Promise<void>;
  stop(): Promise<void>;
}

/** The embedded default: three buses in this process sharing one in-process broker. */
async function startInProcess(config: DemoConfig): Promise<Running> {
  const broker = new InProcessBroker();
  const monitor = emptyCounts();
  const services = new Map<ServiceName, { service: DemoService; close(): Promise<void> }>();
  for (const name of SERVICES) {
    const env = await serviceEnvironment(config, name, broker);
    const service = createService(name, env);
    countMonitoringEvents(service.bus, monitor);
    services.set(name, { service, close: () => env.database.close() });
  }
  for (const { service } of services.values()) await service.bus.start();
  return {
    call: (name, op, args = []) => invoke(services.get(name)!.service, op, args),
    monitor,
    pids: () => String(process.pid),
    kill: async () => {
      throw new Error('--kill needs separate processes');
    },
    restart: async () => {},
    stop: async () => {
      for (const { service } of services.values()) await service.bus.stop();
      for (const { close } of services.values()) await close();
    },
  };
}

/** Real transports: every service in its own process. */
async function startProcesses(config: DemoConfig): Promise<Running> {
  const monitor = emptyCounts();
  const processes = new Map(
    SERVICES.map((name) => [name, new ServiceProcess(name, configArgs(config), monitor)] as const),
  );
  try {
    await Promise.all([...processes.values()].map((process) => process.start()));
  } catch (error) {
    await Promise.allSettled([...processes.values()].map((process) => process.stop()));
    throw error;
  }
  return {
    call: (name, op, args = []) => processes.get(name)!.call(op, args),
    monitor,
    pids: () => [...processes.values()].map((process) => `${process.name} ${process.pid}`).join(', '),
    kill: (name) => processes.get(name)!.kill(),
    restart: (name) => processes.get(name)!.start(),
    stop: async () => {
      await Promise.allSettled([...processes.values()].map((process) => process.stop()));
    },
  };
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  let config: DemoConfig;
  try {
    config = parseConfig(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error.message) console.error(`✖ ${error.message}\n`);
    console.error(USAGE);
    process.exit(error.message ? 2 : 0);
  }
  const say = config.quiet ? () => {} : (line: string) => console.log(line);
  try {
    const result = await runDemo(config, (line) =>
      line.startsWith('dead-lettered=') ? console.log(line) : say(line),
    );
    console.log(ledgerLine(result.ledger));
    process.exit(result.ok ? 0 : 1);
  } catch (error) {
    console.error(`✖ ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
