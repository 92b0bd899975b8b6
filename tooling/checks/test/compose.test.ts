// docker-compose.yml cannot be started where Herald is developed (no Docker): this test checks
// its structure instead — the engines and versions we test against, health checks, ports on
// 127.0.0.1, and that tooling/compose/compose.env names every variable the demo and tests read
// with a URL that points at the port the file publishes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { subscriptionRules } from '@herald/transport-azure';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readEnvFile, repoRoot } from '../src/repo.js';

interface ComposeService {
  image?: string;
  command?: string | string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  healthcheck?: { test?: string[] | string };
  depends_on?: Record<string, { condition?: string }>;
}

/** A correlation rule in the emulator's Config.json. */
interface EmulatorRule {
  Name: string;
  Properties: { FilterType: string; CorrelationFilter: Record<string, string> };
}

const composeText = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText) as { services: Record<string, ComposeService> };
const env = readEnvFile(join(repoRoot, 'tooling/compose/compose.env'));
const servicesReadme = readFileSync(join(repoRoot, 'tooling/services/README.md'), 'utf8');

/** The version tooling/services installs for CI, from its README table (e.g. "PostgreSQL 15.18"). */
function testedVersion(pattern: RegExp): string {
  const match = pattern.exec(servicesReadme);
  if (!match?.[1]) throw new Error(`tooling/services/README.md does not name a version for ${pattern}`);
  return match[1];
}

/** Host ports a service publishes, each checked to bind 127.0.0.1 only. */
function hostPorts(service: ComposeService): number[] {
  return (service.ports ?? []).map((mapping) => {
    const match = /^127\.0\.0\.1:(\d+):(\d+)$/.exec(mapping);
    if (!match) throw new Error(`port "${mapping}" must be published as 127.0.0.1:HOST:CONTAINER`);
    return Number(match[1]);
  });
}

function portOf(url: string): number {
  const parsed = new URL(url.includes('://') ? url : `tcp://${url}`);
  return Number(parsed.port);
}

describe('docker-compose.yml', () => {
  const engines: Array<[string, RegExp, RegExp]> = [
    ['postgres', /^postgres:/, /PostgreSQL (\d+\.\d+)/],
    ['mariadb', /^mariadb:/, /MariaDB (\d+\.\d+\.\d+)/],
    ['redis-1', /^redis:/, /Redis (\d+\.\d+\.\d+)/],
    ['rabbitmq', /^rabbitmq:/, /RabbitMQ (\d+\.\d+\.\d+)/],
    ['kafka', /^apache\/kafka:/, /kafka_2\.13` (\d+\.\d+\.\d+)/],
  ];

  it.each(engines)('%s runs the version CI tests against', (name, image, version) => {
    const service = compose.services[name];
    expect(service?.image).toMatch(image);
    expect(service?.image?.split(':')[1]).toBe(testedVersion(version));
  });

  it('has every engine the adapters are tested on, each with a health check', () => {
    const expected = [
      'postgres',
      'mariadb',
      'redis-1',
      'redis-2',
      'redis-3',
      'rabbitmq',
      'kafka',
      'mongodb',
      'servicebus-sql',
      'servicebus',
    ];
    const engineNames = Object.keys(compose.services).filter((name) => !name.endsWith('-dapr'));
    expect(engineNames.sort()).toEqual([...expected].sort());
    for (const name of engineNames) {
      const service = compose.services[name]!;
      expect(service.healthcheck?.test, `${name} has no health check`).toBeTruthy();
      expect(service.image, `${name} has no image`).toBeTruthy();
      hostPorts(service); // throws on a port bound to every interface
    }
  });

  it('gives each demo service a Dapr sidecar of the tested daprd, started after a healthy Redis', () => {
    const sidecars = Object.keys(compose.services).filter((name) => name.endsWith('-dapr'));
    expect(sidecars.sort()).toEqual(['catalog-dapr', 'notification-dapr', 'ordering-dapr']);
    const daprVersion = /DAPR_VERSION:-(v[\d.]+)/.exec(
      readFileSync(join(repoRoot, 'tooling/services/dapr.sh'), 'utf8'),
    )?.[1];
    for (const name of sidecars) {
      const service = compose.services[name]!;
      expect(`v${service.image?.split(':')[1]}`).toBe(daprVersion);
      const command = [service.command ?? []].flat().join(' ');
      expect(command).toContain(`--app-id=${name.replace(/-dapr$/, '')}`);
      expect(command).toContain('--resources-path=/components');
      expect(JSON.stringify(service.depends_on)).toContain('service_healthy');
      hostPorts(service);
    }
    const component = readFileSync(join(repoRoot, 'tooling/dapr/components/redis-pubsub.yaml'), 'utf8');
    expect(component).toContain('value: "redis-1:6379"');
    expect(compose.services['redis-1']).toBeDefined();
  });

  it('runs Kafka in KRaft mode (no ZooKeeper)', () => {
    const kafka = compose.services.kafka!;
    expect(String(kafka.environment?.KAFKA_PROCESS_ROLES)).toBe('broker,controller');
    expect(kafka.environment?.KAFKA_CONTROLLER_QUORUM_VOTERS).toBeTruthy();
    expect(Object.keys(compose.services).some((name) => name.includes('zookeeper'))).toBe(false);
  });

  it('runs MongoDB as a replica set and the URLs name it', () => {
    const command = [compose.services.mongodb!.command ?? []].flat().join(' ');
    const replicaSet = /--replSet (\S+)/.exec(command)?.[1];
    expect(replicaSet).toBe('rs0');
    expect(JSON.stringify(compose.services.mongodb!.healthcheck)).toContain('rs.initiate');
    for (const name of ['HERALD_MONGO_URL', 'MONGODB_URL'])
      expect(new URL(env[name]!).searchParams.get('replicaSet')).toBe(replicaSet);
  });

  it('starts the Service Bus emulator after its SQL Server is healthy, with the demo topic declared', () => {
    const emulator = compose.services.servicebus!;
    expect(emulator.depends_on?.['servicebus-sql']?.condition).toBe('service_healthy');
    expect(env.AZURE_SERVICEBUS_CONNECTION_STRING).toContain('UseDevelopmentEmulator=true');
    const config = JSON.parse(readFileSync(join(repoRoot, 'tooling/compose/servicebus-config.json'), 'utf8'));
    const topics = config.UserConfig.Namespaces[0].Topics as Array<{
      Name: string;
      Subscriptions: Array<{ Name: string }>;
    }>;
    const demo = topics.find((topic) => topic.Name === 'herald-demo-compose');
    expect(demo?.Subscriptions.map((s) => s.Name).sort()).toEqual(['catalog', 'notification', 'ordering']);
    // The emulator has no administration API (autoCreate cannot add rules): the declared rules
    // must be exactly the ones the transport would create for each demo service's handlers.
    const handled: Record<string, string[]> = {
      catalog: ['ordering.order-placed'],
      ordering: ['catalog.product.created', 'catalog.product.updated', 'catalog.product.deleted'],
      notification: ['ordering.order-placed', 'ordering.sms-requested'],
    };
    for (const subscription of demo!.Subscriptions as Array<{ Name: string; Rules: EmulatorRule[] }>) {
      const expected = subscriptionRules(subscription.Name, handled[subscription.Name]!).map((rule) => ({
        Name: rule.name,
        Properties: {
          FilterType: 'Correlation',
          CorrelationFilter: {
            Label: rule.filter.subject,
            ...(rule.filter.to ? { To: rule.filter.to } : {}),
          },
        },
      }));
      expect(subscription.Rules).toEqual(expected);
    }
  });

  it('publishes each engine on the port its variable in compose.env points at', () => {
    const portsOf = (name: string) => hostPorts(compose.services[name]!);
    expect(portsOf('postgres')).toEqual([portOf(env.HERALD_PG_URL!)]);
    expect(portsOf('mariadb')).toEqual([portOf(env.HERALD_MARIADB_URL!)]);
    expect(portsOf('rabbitmq')).toEqual([portOf(env.HERALD_RABBITMQ_URL!)]);
    expect(portsOf('kafka')).toEqual([portOf(env.HERALD_KAFKA_BROKERS!)]);
    expect(portsOf('mongodb')).toEqual([portOf(env.HERALD_MONGO_URL!)]);
    expect(['redis-1', 'redis-2', 'redis-3'].flatMap(portsOf)).toEqual(
      env.HERALD_REDIS_URLS!.split(',').map(portOf),
    );
    const endpoint = /Endpoint=sb:\/\/([^;]+)/.exec(env.AZURE_SERVICEBUS_CONNECTION_STRING!)?.[1];
    expect(portsOf('servicebus')).toEqual([portOf(endpoint!)]);
    // Published host ports never collide (RabbitMQ and the emulator both speak AMQP on 5672).
    const all = Object.values(compose.services).flatMap(hostPorts);
    expect(new Set(all).size).toBe(all.length);
  });

  it('compose.env sets every engine variable the demo and the tests read', () => {
    const read = new Set<string>();
    const sources = ['apps/demo-kit/src/config.ts', 'tooling/services/up.sh'];
    for (const file of sources) {
      const text = readFileSync(join(repoRoot, file), 'utf8');
      for (const match of text.matchAll(
        /\b(HERALD_(?:[A-Z]+_URLS?|KAFKA_BROKERS)|AZURE_SERVICEBUS_CONNECTION_STRING)\b/g,
      ))
        read.add(match[1]!);
    }
    read.add('MONGODB_URL'); // the outbox-mongo live suite (a replica set)
    expect(read.size).toBeGreaterThan(5);
    expect([...read].filter((name) => !env[name])).toEqual([]);
  });
});
