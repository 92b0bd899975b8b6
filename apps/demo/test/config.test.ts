import { configArgs, databaseName, parseConfig, UsageError } from '@herald/demo-kit';
import { describe, expect, it } from 'vitest';

describe('demo configuration (flags and environment)', () => {
  it('defaults to the in-process transport and SQLite', () => {
    const config = parseConfig([], {});
    expect(config).toMatchObject({
      transport: 'inprocess',
      db: 'sqlite',
      products: 20,
      orders: 100,
      kill: undefined,
    });
    expect(config.urls.postgres).toBe('postgres://herald:herald@127.0.0.1:5432/herald');
    expect(config.urls.kafka).toEqual(['127.0.0.1:9092']);
  });

  it('takes flags (both spellings) before the environment', () => {
    const env = {
      HERALD_DEMO_TRANSPORT: 'kafka',
      HERALD_DEMO_DB: 'mariadb',
      HERALD_KAFKA_BROKERS: 'a:1,b:2',
    };
    expect(parseConfig([], env)).toMatchObject({
      transport: 'kafka',
      db: 'mariadb',
      urls: { kafka: ['a:1', 'b:2'] },
    });
    expect(parseConfig(['--transport', 'rabbitmq', '--db=postgres', '--kill=catalog'], env)).toMatchObject({
      transport: 'rabbitmq',
      db: 'postgres',
      kill: 'catalog',
    });
  });

  it('--db mongodb uses HERALD_MONGO_URL and one database per service and run', () => {
    const config = parseConfig(['--db', 'mongodb', '--run', 'r1'], {
      HERALD_MONGO_URL: 'mongodb://m:27017/',
    });
    expect(config).toMatchObject({ db: 'mongodb', urls: { mongodb: 'mongodb://m:27017/' } });
    expect(databaseName(config, 'catalog')).toBe('demo_r1_catalog');
    expect(parseConfig(['--db', 'mongodb'], {}).urls.mongodb).toBe('mongodb://127.0.0.1:27017/');
  });

  it('a service process gets the same run and databases', () => {
    const config = parseConfig(['--transport', 'rabbitmq', '--db', 'postgres', '--namespace', 'x1'], {});
    expect(parseConfig(configArgs(config), {})).toMatchObject({
      transport: 'rabbitmq',
      db: 'postgres',
      namespace: 'x1',
      run: config.run,
      dataDir: config.dataDir,
    });
  });

  it('rejects what it cannot do, saying why', () => {
    const bad: Array<[string[], RegExp]> = [
      [['--transport', 'nats'], /--transport must be one of inprocess, rabbitmq, kafka, azure, dapr/],
      [['--kill', 'ordering'], /--kill needs separate processes/],
      [['--transport', 'azure'], /AZURE_SERVICEBUS_CONNECTION_STRING/],
      [['--orders', '0'], /--orders must be an integer ≥ 1/],
      [['--namespace', 'Bad-Name'], /--namespace/],
      [['--frobnicate'], /--frobnicate needs a value|unknown option/],
      [['stray'], /unexpected argument/],
    ];
    for (const [args, message] of bad) expect(() => parseConfig(args, {}), args.join(' ')).toThrow(message);
    expect(() => parseConfig(['--help'], {})).toThrow(UsageError);
  });
});
