import { describeBusScenarios } from '@herald/testkit';
import { beforeAll } from 'vitest';
import pair from './bus-scenarios/postgresql-kafka.js';
import { requireBroker } from './helpers.js';

// Herald's bus contract on Prisma PostgreSQL + Kafka: every scenario of the
// testkit suite, the crash scenarios with replicas in child processes, the broker restart
// through tooling/services/kafka.sh (~15 s). That scenario found three defects, fixed: the relay
// spent records' attempts on the outage, kafkajs' idempotent producer kept failing with
// OUT_OF_ORDER_SEQUENCE_NUMBER, and kafkajs stopped the consumer for good on "Failed to find
// group coordinator" (a KafkaJSNonRetriableError) while the broker came back.
beforeAll(requireBroker);

describeBusScenarios({
  pair,
  modulePath: new URL('./bus-scenarios/postgresql-kafka.ts', import.meta.url),
});
