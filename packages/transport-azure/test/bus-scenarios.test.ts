import { describeBusScenarios } from '@herald/testkit';
import pair from './bus-scenarios/postgresql-azure-peer.js';

// Herald's bus contract on Prisma PostgreSQL + Azure Service Bus, over the real SDK and the
// in-process AMQP test peer. The crash scenarios are reported as skipped: the peer lives in
// the test process (no modulePath), so a child process could not reach its topology.
describeBusScenarios({ pair });
