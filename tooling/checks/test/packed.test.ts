// What a user gets from the registry: every public package packed (`pnpm pack`, as publishing
// does), installed with plain npm into a project outside the workspace, and used from there —
// the root README's example compiled with moduleResolution NodeNext and Bundler and run on real
// PostgreSQL, RabbitMQ and Redis. publint and arethetypeswrong check every package's exports
// map, types and files list on the same tarballs.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CommandResult,
  eachLimited,
  type PublicPackage,
  publicPackages,
  runCommand,
} from '../src/packages.js';
import { readmeExampleLines, repoRoot } from '../src/repo.js';

const require = createRequire(import.meta.url);
const checksDir = join(repoRoot, 'tooling/checks');
const fixture = join(checksDir, 'fixtures/readme-example');
const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin/tsc');
const prismaCli = join(dirname(require.resolve('prisma/package.json')), 'build/index.js');
const prismaVersion: string = require('prisma/package.json').version;
const attw = join(checksDir, 'node_modules/.bin/attw');

const pgUrl = process.env.HERALD_PG_URL ?? 'postgres://herald:herald@127.0.0.1:5432/herald';
const rabbitUrl = process.env.HERALD_RABBITMQ_URL ?? 'amqp://herald:herald@127.0.0.1:5672';
const redisUrl = (process.env.HERALD_REDIS_URLS ?? 'redis://127.0.0.1:6379').split(',')[0]!;
const database = `herald_packed_${process.pid}`;

const packages = publicPackages();
let scratch: string;
let tarballs: Map<string, string>;
let app: string;
/** Both compilations start as soon as the project is installed and run side by side. */
let compiled: { nodenext: Promise<CommandResult>; bundler: Promise<CommandResult> };

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect().catch((error: Error) => {
    throw new Error(`PostgreSQL is not reachable (${error.message}): bash tooling/services/up.sh postgres`);
  });
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function pack(pkg: PublicPackage, into: string): Promise<string> {
  const result = await runCommand('pnpm', ['pack', '--pack-destination', into], { cwd: pkg.dir });
  if (result.code !== 0) throw new Error(`pnpm pack failed in ${pkg.dir}:\n${result.output}`);
  const file = readdirSync(into).find(
    (name) => name === `${pkg.name.replace('@', '').replace('/', '-')}-${pkg.version}.tgz`,
  );
  if (!file) throw new Error(`pnpm pack left no tarball for ${pkg.name} in ${into}`);
  return join(into, file);
}

beforeAll(async () => {
  // A folder outside the workspace: Node must find nothing of the monorepo from there.
  scratch = mkdtempSync(join(tmpdir(), 'herald-packed-'));
  const tarballDir = join(scratch, 'tarballs');
  mkdirSync(tarballDir);
  const packed = await eachLimited(packages, 3, (pkg) => pack(pkg, tarballDir));
  tarballs = new Map(packages.map((pkg, index) => [pkg.name, packed[index]!]));

  app = join(scratch, 'app');
  cpSync(fixture, app, { recursive: true });
  const dependencies: Record<string, string> = {
    '@prisma/adapter-pg': prismaVersion,
    '@prisma/client': prismaVersion,
    '@types/node': '^24.0.0',
    ioredis: '^5.6.0',
    zod: '^4.1.0',
  };
  for (const [name, file] of tarballs) dependencies[name] = `file:${file}`;
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'herald-packed-check', private: true, type: 'module', dependencies }, null, 2)}\n`,
  );
  // Plain npm, peer dependencies resolved as npm does for any user (no --legacy-peer-deps).
  const install = await runCommand('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: app,
    timeoutMs: 150_000,
  });
  if (install.code !== 0) throw new Error(`npm install of the packed packages failed:\n${install.output}`);

  // The schema: the example's model plus the fragment shipped in the packed outbox-prisma.
  const fragment = readFileSync(
    join(app, 'node_modules/@herald/outbox-prisma/prisma/postgresql.prisma'),
    'utf8',
  );
  writeFileSync(
    join(app, 'schema.prisma'),
    `${readFileSync(join(app, 'schema.prisma'), 'utf8')}\n${fragment}`,
  );
  const generate = await runCommand(process.execPath, [prismaCli, 'generate', '--schema', 'schema.prisma'], {
    cwd: app,
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: '/bin/false', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
  });
  if (generate.code !== 0) throw new Error(`prisma generate failed:\n${generate.output}`);
  const compile = (project: string) => runCommand(process.execPath, [tsc, '-p', project], { cwd: app });
  compiled = { nodenext: compile('tsconfig.nodenext.json'), bundler: compile('tsconfig.bundler.json') };
  await admin((client) => client.query(`CREATE DATABASE ${database}`));
}, 240_000);

afterAll(async () => {
  // HERALD_KEEP_SCRATCH=1 leaves the scratch project for a look after a failure.
  if (scratch && !process.env.HERALD_KEEP_SCRATCH) rmSync(scratch, { recursive: true, force: true });
  await admin((client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)).catch(
    () => undefined,
  );
});

describe('the packed packages, installed outside the workspace', () => {
  it('packs every public package', () => {
    expect(packages.length).toBeGreaterThanOrEqual(11);
    expect([...tarballs.keys()].sort()).toEqual(packages.map((pkg) => pkg.name).sort());
  });

  it('publint finds nothing in any package', async () => {
    const findings: string[] = [];
    for (const pkg of packages) {
      const tarball = readFileSync(tarballs.get(pkg.name)!);
      const { messages, pkg: manifest } = await publint({
        pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
        strict: true,
      });
      for (const message of messages)
        findings.push(`${pkg.name}: ${message.type}: ${formatMessage(message, manifest) ?? message.code}`);
    }
    expect(findings).toEqual([]);
  });

  it('arethetypeswrong finds no problem for ESM consumers (node16 and bundler resolution)', async () => {
    const results = await eachLimited(packages, 3, async (pkg) => {
      const result = await runCommand(
        attw,
        [tarballs.get(pkg.name)!, '--profile', 'esm-only', '--format', 'ascii'],
        {
          cwd: scratch,
        },
      );
      return result.code === 0 ? undefined : `${pkg.name}:\n${result.output}`;
    });
    expect(results.filter(Boolean)).toEqual([]);
  }, 120_000);

  it('the fixture holds the root README example, line for line', () => {
    const program = readFileSync(join(fixture, 'src/main.ts'), 'utf8').split('\n').map(normalize);
    let at = 0;
    const missing: string[] = [];
    for (const line of readmeExampleLines()) {
      const found = program.indexOf(line, at);
      if (found === -1) missing.push(line);
      else at = found + 1;
    }
    expect(missing).toEqual([]);
  });

  it('compiles the README example with moduleResolution NodeNext (type-checking the packed .d.ts files)', async () => {
    const result = await compiled.nodenext;
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  }, 120_000);

  it('compiles the README example with moduleResolution Bundler', async () => {
    const result = await compiled.bundler;
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  }, 120_000);

  it('runs the README example on PostgreSQL, RabbitMQ and Redis: the event is published and handled', async () => {
    const result = await runCommand(process.execPath, ['dist/main.js'], {
      cwd: app,
      env: {
        ...process.env,
        DATABASE_URL: withDatabase(pgUrl, database),
        HERALD_RABBITMQ_URL: rabbitUrl,
        REDIS_URL: redisUrl,
      },
      timeoutMs: 60_000,
    });
    expect(result.output).toMatch(/readme example ok: ordering\.order-placed \S+ published and handled/);
    expect(result.code).toBe(0);
  }, 60_000);
});

/** A code line without its trailing comment and surrounding whitespace. */
function normalize(line: string): string {
  return line
    .replace(/\s+\/\/ .*$/, '')
    .replace(/\s+/g, ' ')
    .trim();
}
