// One demo service as its own process: `node dist/service-process.js <service> [flags]`.
// Started by main.ts (with an IPC channel) for --transport rabbitmq|kafka|azure. It builds
// the service, starts its bus, answers the driver's calls, and stops gracefully on SIGTERM.
import { parseConfig, serviceEnvironment } from './config.js';
import { SERVICES, type ServiceName } from './contracts.js';
import { countMonitoringEvents, emptyCounts } from './monitoring.js';
import { createService, invoke } from './services/index.js';

/** Messages between the driver (main.ts) and a service process. */
export type ToService = { type: 'call'; id: number; op: string; args: unknown[] };
export type FromService =
  | { type: 'ready'; pid: number }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: string }
  | { type: 'monitor'; counts: ReturnType<typeof emptyCounts> };

const name = process.argv[2] as ServiceName;
if (!SERVICES.includes(name)) {
  console.error(`usage: service-process.js <${SERVICES.join('|')}> [flags]`);
  process.exit(2);
}
const send = (message: FromService) =>
  new Promise<void>((resolve) => {
    if (!process.connected || !process.send) resolve();
    else process.send(message, () => resolve());
  });

const config = parseConfig(process.argv.slice(3));
const env = await serviceEnvironment(config, name);
const service = createService(name, env);

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
process.on('disconnect', stop); // the driver went away

await service.bus.start();
await send({ type: 'ready', pid: process.pid });
