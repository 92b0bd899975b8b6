// One demo service as its own process: each service app's `dist/main.js` calls
// runServiceProcess. Started by the demo's driver (with an IPC channel) for --transport
// rabbitmq|kafka|azure, or on its own (a container: `node dist/main.js --transport rabbitmq
// --db postgres`). It builds the service, starts its bus, answers the driver's calls when
// there is a driver, and stops gracefully on SIGTERM.
import type { IntegrationEventBus } from '@herald/core';
import {
  type MongoServiceEnvironment,
  parseConfig,
  type ServiceEnvironment,
  serviceEnvironment,
} from './config.js';
import type { ServiceName } from './contracts.js';
import { migrateDatabase } from './database.js';
import { countMonitoringEvents, emptyCounts } from './monitoring.js';

/** Messages between the driver (the demo's main.ts) and a service process. */
export type ToService = { type: 'call'; id: number; op: string; args: unknown[] };
export type FromService =
  | { type: 'ready'; pid: number }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: string }
  | { type: 'monitor'; counts: ReturnType<typeof emptyCounts> };

/** What a service app builds from its environment: its bus and its business operations. */
export interface RunningService {
  readonly name: string;
  readonly bus: IntegrationEventBus;
  readonly operations: object;
}

/** Calls a business operation by name (how the driver reaches a service, in process or over IPC). */
export async function invoke(
  service: RunningService,
  op: string,
  args: readonly unknown[],
): Promise<unknown> {
  const operation = (service.operations as Record<string, (...args: unknown[]) => Promise<unknown>>)[op];
  if (!operation) throw new Error(`${service.name} has no operation "${op}"`);
  return operation(...args);
}

/** Runs `create`'s service in this process until SIGTERM, SIGINT or the driver going away. */
export async function runServiceProcess(
  name: ServiceName,
  create: (env: ServiceEnvironment | MongoServiceEnvironment) => RunningService,
  argv: readonly string[] = process.argv.slice(2),
): Promise<void> {
  const send = (message: FromService) =>
    new Promise<void>((resolve) => {
      if (!process.connected || !process.send) resolve();
      else process.send(message, () => resolve());
    });

  const config = parseConfig(argv);
  if (config.migrate) await migrateDatabase(config, name);
  const env = await serviceEnvironment(config, name);
  const service = create(env);

  // Monitoring events go to the driver in small batches.
  const counts = emptyCounts();
  countMonitoringEvents(service.bus, counts);
  const flush = async () => {
    if (!Object.values(counts).some((n) => n > 0)) return;
    const batch = { ...counts };
    Object.assign(counts, emptyCounts());
    await send({ type: 'monitor', counts: batch });
  };
  const flushing = setInterval(flush, 200);

  process.on('message', (message: ToService) => {
    if (message?.type !== 'call') return;
    invoke(service, message.op, message.args).then(
      (value) => send({ type: 'reply', id: message.id, ok: true, value }),
      (error: unknown) => send({ type: 'reply', id: message.id, ok: false, error: String(error) }),
    );
  });

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await service.bus.stop(); // finishes in-flight work, hands claimed records back
    clearInterval(flushing);
    await flush();
    await env.database.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (process.connected) process.on('disconnect', stop); // the driver went away

  await service.bus.start();
  await send({ type: 'ready', pid: process.pid });
}
