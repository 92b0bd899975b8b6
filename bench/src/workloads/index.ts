import type { Workload } from '../workload.ts';
import { backlog1m } from './backlog.ts';
import { drainDapr, drainKafka, drainRabbit } from './drain.ts';
import { e2eRabbit } from './e2e.ts';
import { idle } from './idle.ts';
import { memory } from './memory.ts';
import { peer } from './peer.ts';
import { produce } from './produce.ts';
import { rawDapr } from './raw-dapr.ts';
import { rawKafka } from './raw-kafka.ts';
import { rawPg } from './raw-pg.ts';
import { rawRabbit } from './raw-rabbit.ts';
import { relayKafka, relayRabbit } from './relay.ts';
import { relays4 } from './relays.ts';

/** Every workload, in the order a run executes them (ceilings first: ratios need them). */
export const WORKLOADS: readonly Workload[] = [
  memory,
  rawRabbit,
  rawPg,
  rawKafka,
  produce,
  relayRabbit,
  relayKafka,
  drainRabbit,
  e2eRabbit,
  drainKafka,
  rawDapr,
  drainDapr,
  peer,
  relays4,
  idle,
  backlog1m,
];
