// What a user gets from the registry: every public package packed (`pnpm pack`, as publishing
// does), installed into a project outside the workspace, and used from there —
// the root README's example compiled with moduleResolution NodeNext and Bundler and run on real
// PostgreSQL, RabbitMQ and Redis. publint and arethetypeswrong check every package's exports
// map, types and files list on the same tarballs.
import { fork } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import pg from 'pg';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appPackages,
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

const pgUrl = process.env.HERALD_PG_URL ?? 'postgres://herald:herald@127.0.0.1:5432/herald';
const rabbitUrl = process.env.HERALD_RABBITMQ_URL ?? 'amqp://herald:herald@127.0.0.1:5672';
const redisUrl = (process.env.HERALD_REDIS_URLS ?? 'redis://127.0.0.1:6379').split(',')[0]!;
const database = `herald_packed_${process.pid}`;

const packages = publicPackages();
const serviceApps = appPackages(['demo-kit', 'notification']);
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

/**
 * A scratch project's package.json. The overrides stand in for the registry: a Herald package that
 * depends on another (`@herald/core` for every adapter) gets the packed tarball, not a version
 * that was never published.
 */
function scratchManifest(name: string, dependencies: Record<string, string>): string {
  const overrides = Object.fromEntries([...tarballs].map(([pkg, file]) => [pkg, `file:${file}`]));
  return `${JSON.stringify({ name, private: true, type: 'module', dependencies, pnpm: { overrides } }, null, 2)}\n`;
}

/** How long one install may take before it is killed and tried again, and how often. */
const INSTALL_ATTEMPT_MS = 150_000;
const INSTALL_ATTEMPTS = 3;

/**
 * Installs a scratch project's dependencies as a user's package manager would: resolved from the
 * registry, peer dependencies installed and checked strictly. pnpm's isolated layout makes an
 * undeclared dependency fail here instead of working by accident of hoisting. pnpm installs from
 * the store the workspace install already filled, so only what the workspace does not use is
 * downloaded (an install takes 2–20 s). A registry request here now and then stalls without an
 * answer (CI: a cold `npm install` killed after 480 s, a pnpm install stuck after "resolved 263,
 * reused 254" for 300 s, the same install 2 s on a rerun): pnpm retries a request after 30 s, and
 * an install that still hangs is killed and run again. The progress lines say where it stalled.
 */
async function installOutsideWorkspace(project: string, extra: readonly string[]): Promise<CommandResult> {
  const outputs: string[] = [];
  for (let attempt = 1; ; attempt++) {
    const result = await runCommand(
      'pnpm',
      [
        'install',
        '--ignore-workspace',
        '--prefer-offline',
        '--reporter=append-only',
        '--config.strict-peer-dependencies=true',
        '--config.auto-install-peers=true',
        '--config.fetch-timeout=30000',
        '--config.fetch-retries=4',
        ...extra,
      ],
      { cwd: project, timeoutMs: INSTALL_ATTEMPT_MS },
    );
    outputs.push(`attempt ${attempt}:\n${result.output}`);
    if (result.code === 0 || attempt === INSTALL_ATTEMPTS) return { ...result, output: outputs.join('\n') };
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
  // The notification service and the demo kit it builds on (private: packed, never published).
  for (const pkg of serviceApps) tarballs.set(pkg.name, await pack(pkg, tarballDir));

  app = join(scratch, 'app');
  cpSync(fixture, app, { recursive: true });
  const dependencies: Record<string, string> = {
    '@prisma/adapter-pg': `^${prismaVersion.replace(/\.\d+$/, '.0')}`,
    '@prisma/client': prismaVersion,
    '@types/node': '^24.0.0',
    ioredis: '^5.6.0',
    zod: '^4.1.0',
  };
  for (const pkg of packages) dependencies[pkg.name] = `file:${tarballs.get(pkg.name)}`;
  writeFileSync(join(app, 'package.json'), scratchManifest('herald-packed-check', dependencies));
  const install = await installOutsideWorkspace(app, []);
  if (install.code !== 0) throw new Error(`installing the packed packages failed:\n${install.output}`);

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
}, 600_000);

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
    for (const pkg of packages) expect(tarballs.get(pkg.name)).toBeTruthy();
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
    // The CLI's "esm-only" profile: Herald ships ESM only, so node10 and require() from CJS are
    // out of scope; every other resolution must find the types and agree with the JavaScript.
    const ignored = new Set(['node10', 'node16-cjs']);
    const findings: string[] = [];
    for (const pkg of packages) {
      const analysis = await checkPackage(
        createPackageFromTarballData(readFileSync(tarballs.get(pkg.name)!)),
      );
      if (!analysis.types) {
        findings.push(`${pkg.name}: ships no types`);
        continue;
      }
      for (const problem of analysis.problems)
        if (!('resolutionKind' in problem && ignored.has(problem.resolutionKind)))
          findings.push(`${pkg.name}: ${JSON.stringify(problem)}`);
    }
    expect(findings).toEqual([]);
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

describe('one service (apps/notification), installed from tarballs on RabbitMQ only', () => {
  let service: string;
  let dataDir: string;

  beforeAll(async () => {
    service = join(scratch, 'service');
    dataDir = join(scratch, 'service-data');
    mkdirSync(service);
    // What a deployment on RabbitMQ and SQLite installs: the service, the Herald packages it
    // names, one transport and one driver adapter — optional dependencies left out.
    const wanted = [
      '@herald/demo-notification',
      '@herald/demo-kit',
      '@herald/core',
      '@herald/entity-sync',
      '@herald/outbox-prisma',
      '@herald/outbox-mongo',
      '@herald/transport-rabbit',
    ];
    const dependencies: Record<string, string> = {
      '@prisma/adapter-libsql': `^${prismaVersion.replace(/\.\d+$/, '.0')}`,
      '@types/node': '^24.0.0',
    };
    for (const name of wanted) dependencies[name] = `file:${tarballs.get(name)}`;
    writeFileSync(join(service, 'package.json'), scratchManifest('herald-notification-deploy', dependencies));
    const install = await installOutsideWorkspace(service, ['--no-optional']);
    if (install.code !== 0) throw new Error(`installing the notification service failed:\n${install.output}`);
  }, 600_000);

  it('installs no other transport and no other transport driver', () => {
    // Every package pnpm installed has a folder in node_modules/.pnpm, named `name@version…`.
    const installed = readdirSync(join(service, 'node_modules/.pnpm')).map((entry) =>
      entry.replace(/^@([^+]+)\+/, '@$1/').replace(/(?<=.)@.*$/, ''),
    );
    expect(installed).toContain('@herald/transport-rabbit');
    expect(installed).toContain('amqplib');
    for (const absent of [
      '@herald/transport-kafka',
      '@herald/transport-azure',
      '@herald/transport-dapr',
      'kafkajs',
      '@azure/service-bus',
      '@dapr/dapr',
    ])
      expect(installed).not.toContain(absent);
  });

  it('compiles its source against the installed packages (NodeNext and Bundler)', async () => {
    cpSync(join(repoRoot, 'apps/notification/src'), join(service, 'src'), { recursive: true });
    const base = { target: 'ES2023', lib: ['ES2023'], strict: true, types: ['node'], noEmit: true };
    const configs = {
      'tsconfig.nodenext.json': { ...base, module: 'NodeNext', moduleResolution: 'NodeNext' },
      'tsconfig.bundler.json': { ...base, module: 'ESNext', moduleResolution: 'Bundler' },
    };
    const results = await Promise.all(
      Object.entries(configs).map(([file, compilerOptions]) => {
        writeFileSync(join(service, file), JSON.stringify({ compilerOptions, include: ['src'] }));
        return runCommand(process.execPath, [tsc, '-p', file], { cwd: service });
      }),
    );
    expect(results.map((result) => result.output)).toEqual(['', '']);
  }, 120_000);

  it('starts on its own (--migrate) on RabbitMQ and SQLite, reports ready, and stops on SIGTERM', async () => {
    const main = join(service, 'node_modules/@herald/demo-notification/dist/main.js');
    const args = [
      '--transport',
      'rabbitmq',
      '--db',
      'sqlite',
      '--data-dir',
      dataDir,
      '--namespace',
      'packed',
      '--run',
      'check',
    ];
    const child = fork(main, [...args, '--migrate'], {
      cwd: service,
      env: { ...process.env, HERALD_RABBITMQ_URL: rabbitUrl },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const ready = await Promise.race([
      new Promise<boolean>((resolve) =>
        child.on('message', (message: { type?: string }) => message?.type === 'ready' && resolve(true)),
      ),
      exited.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 45_000)),
    ]);
    child.kill('SIGTERM');
    const code = await exited;
    expect({ ready, output }).toEqual({ ready: true, output: '' });
    expect(code).toBe(0);
    expect(readdirSync(dataDir)).toContain('notification.db');
  }, 60_000);
});
