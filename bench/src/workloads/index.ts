import type { Workload } from '../workload.ts';
import { rawPg } from './raw-pg.ts';
import { rawRabbit } from './raw-rabbit.ts';

/** Every workload, in the order a run executes them (ceilings first: ratios need them). */
export const WORKLOADS: readonly Workload[] = [rawRabbit, rawPg];
