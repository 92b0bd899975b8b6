// --transport dapr: what a service process and the driver agree on. The driver starts one daprd
// sidecar per service (apps/demo/src/dapr-sidecars.ts) and hands each service the gRPC port of
// its own sidecar through DAPR_PORTS_ENV.
import type { ServiceName } from './contracts.js';

/** Name of the demo's pub/sub component (Redis Streams). */
export const DAPR_PUBSUB = 'redis-pubsub';
/** Environment variable that tells a service process the gRPC port of its sidecar. */
export const DAPR_PORTS_ENV = 'HERALD_DEMO_DAPR_GRPC_PORTS';

/** The gRPC port of `service`'s sidecar, as the driver handed it down. */
export function sidecarPortOf(service: ServiceName): number {
  const ports = JSON.parse(process.env[DAPR_PORTS_ENV] ?? '{}') as Record<string, number>;
  const port = ports[service];
  if (!port) throw new Error(`--transport dapr: no sidecar port for ${service} in ${DAPR_PORTS_ENV}`);
  return port;
}
