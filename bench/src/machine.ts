import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import type pg from 'pg';
import { withClient } from './db.ts';
import type { Engines } from './services.ts';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  kernel: string;
  node: string;
  postgres?: string;
  rabbitmq?: string;
  kafka?: string;
  redis?: string;
  loadAverageAtStart: number[];
  loadAverageAtEnd?: number[];
  date: string;
}

const quiet = async <T>(work: () => Promise<T>): Promise<T | undefined> => {
  try {
    return await work();
  } catch {
    return undefined;
  }
};

/** CPU, memory, Node and the versions of the engines the run used. */
export async function machineInfo(engines: Engines, used: ReadonlySet<string>): Promise<MachineInfo> {
  const info: MachineInfo = {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    date: new Date().toISOString(),
  };
  if (used.has('postgres')) {
    info.postgres = await quiet(() =>
      withClient(
        engines.pgUrl,
        async (db: pg.Client) => (await db.query('SHOW server_version')).rows[0].server_version,
      ),
    );
  }
  if (used.has('rabbitmq')) {
    info.rabbitmq = await quiet(async () => {
      const connection = await amqp.connect(engines.rabbitUrl);
      const version = String(connection.connection.serverProperties.version);
      await connection.close();
      return version;
    });
  }
  if (used.has('kafka')) {
    // kafkajs does not expose the broker version; the jar tooling/services/kafka.sh installed carries it.
    info.kafka = await quiet(async () => {
      const dir = join(process.env.HERALD_SERVICES_DIR ?? '/var/tmp/herald-services', 'kafka', 'libs');
      const jar = readdirSync(dir).find((name) => /^kafka_[0-9.]+-[0-9.]+\.jar$/.test(name));
      return jar ? /-([0-9.]+)\.jar$/.exec(jar)?.[1] : undefined;
    });
  }
  if (used.has('redis')) {
    info.redis = await quiet(async () => {
      const out = execFileSync('redis-server', ['--version'], { encoding: 'utf8' });
      return /v=([0-9.]+)/.exec(out)?.[1];
    });
  }
  return info;
}
