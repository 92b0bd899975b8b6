#!/usr/bin/env node
// The two commands of the README: `npm run demo` and `npm test`.
// Works on a fresh clone with only Node and npm: it fetches the pinned
// toolchain (Node 24 when the running Node is older than 22, and pnpm) from
// the npm registry into .herald/toolchain, installs dependencies, builds,
// starts the local engines the tests need, and runs everything through turbo.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const pnpmVersion = pkg.packageManager.replace(/^pnpm@/, '');
const toolchain = join(root, '.herald', 'toolchain');
const toolBin = join(toolchain, 'bin');
const command = process.argv[2];
const extraArgs = process.argv.slice(3);

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env: process.env, ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function must(cmd, args, options) {
  const status = run(cmd, args, options);
  if (status !== 0) {
    console.error(`\n✖ ${cmd} ${args.join(' ')} failed with exit code ${status}`);
    process.exit(status);
  }
}

function output(cmd, args) {
  const result = spawnSync(cmd, args, { cwd: root, env: process.env, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** The version `bin` prints for `--version`, or undefined when it is missing or fails. */
function versionOf(bin) {
  if (!existsSync(bin)) return undefined;
  const result = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/**
 * Node ≥ 22 and the pinned pnpm on PATH, fetched from the npm registry into .herald/toolchain
 * only when missing: a toolchain fetched once is reused by every later run.
 */
function ensureToolchain() {
  process.env.PATH = `${toolBin}:${process.env.PATH}`;
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  const needNode = nodeMajor < 22;
  const haveNode = !needNode || /^v24\./.test(versionOf(join(toolBin, 'node')) ?? '');
  const havePnpm = output('pnpm', ['--version']) === pnpmVersion;
  if (!haveNode || !havePnpm) {
    const wanted = [...(!haveNode ? ['node@24'] : []), ...(!havePnpm ? [`pnpm@${pnpmVersion}`] : [])];
    console.log(`› fetching ${wanted.join(' and ')} from the npm registry into .herald/toolchain (once)`);
    mkdirSync(toolchain, { recursive: true });
    must('npm', [
      'install',
      '--global',
      '--prefix',
      toolchain,
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      ...wanted,
    ]);
  }
  if (needNode) {
    // Re-run this script on the toolchain's Node 24.
    const status = run(join(toolBin, 'node'), [fileURLToPath(import.meta.url), ...process.argv.slice(2)]);
    process.exit(status);
  }
}

function install() {
  const frozen = process.env.CI ? ['--frozen-lockfile'] : [];
  must('pnpm', ['install', ...frozen, '--reporter=append-only']);
}

/** Loads the env file written by tooling/services/up.sh. */
function loadServiceEnv() {
  const dir = process.env.HERALD_SERVICES_DIR ?? '/var/tmp/herald-services';
  const file = join(dir, 'env.sh');
  if (!existsSync(file)) return;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^export\s+([A-Z0-9_]+)=["']?(.*?)["']?$/.exec(line.trim());
    if (match && process.env[match[1]] === undefined) process.env[match[1]] = match[2];
  }
}

/**
 * The workspace's package folders, from pnpm-workspace.yaml (`packages/*`, `apps/*`, `bench`,
 * …): every one whose tests count in the closing line.
 */
function workspaceFolders() {
  const yaml = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const folders = [];
  for (const match of yaml.matchAll(/^\s+-\s+['"]?([^'"\s#]+)['"]?\s*$/gm)) {
    const pattern = match[1];
    if (pattern.endsWith('/*')) {
      const base = join(root, pattern.slice(0, -2));
      if (!existsSync(base)) continue;
      for (const name of readdirSync(base)) folders.push(`${pattern.slice(0, -2)}/${name}`);
    } else folders.push(pattern);
  }
  return folders;
}

/** Sums the per-package Vitest JSON reports into one closing line; `skippedBy` counts skips per package. */
function summarize() {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const skippedBy = new Map();
  // A file whose setup failed counts no failed test (its tests show as skipped): name it.
  const failedBy = new Map();
  const counted = [];
  const failures = [];
  for (const folder of workspaceFolders()) {
    const report = join(root, folder, '.herald-test-results.json');
    if (!existsSync(report)) continue;
    const data = JSON.parse(readFileSync(report, 'utf8'));
    passed += data.numPassedTests ?? 0;
    failed += data.numFailedTests ?? 0;
    const failedFiles = data.numFailedTestSuites ?? 0;
    if (failedFiles > 0 || data.numFailedTests > 0)
      failedBy.set(
        folder,
        `${data.numFailedTests ?? 0} failed tests, ${failedFiles} failed suites (files or describe blocks)`,
      );
    for (const file of data.testResults ?? []) {
      const where = relative(root, file.name ?? '');
      // A file that failed before its tests ran carries its error in `message`.
      if (file.status === 'failed' && !(file.assertionResults ?? []).some((t) => t.status === 'failed'))
        failures.push(`${where}: ${firstLines(file.message)}`);
      for (const test of file.assertionResults ?? [])
        if (test.status === 'failed')
          failures.push(
            `${where} > ${test.fullName}: ${firstLines((test.failureMessages ?? []).join('\n'))}`,
          );
    }
    counted.push(folder);
    const packageSkipped = (data.numPendingTests ?? 0) + (data.numTodoTests ?? 0);
    skipped += packageSkipped;
    if (packageSkipped > 0) skippedBy.set(folder, packageSkipped);
  }
  return { passed, failed, skipped, skippedBy, failedBy, failures, counted };
}

/** The start of an error message, on one line: enough to name the failure at the end of a long log. */
function firstLines(message = '') {
  const text = message.split('\n').slice(0, 4).join(' ⏎ ').replace(/\s+/g, ' ').trim();
  return text.length > 400 ? `${text.slice(0, 400)}…` : text || '(no message)';
}

function clearReports() {
  for (const folder of workspaceFolders())
    rmSync(join(root, folder, '.herald-test-results.json'), { force: true });
}

ensureToolchain();

if (command === 'demo') {
  install();
  // hash-only prints one line per package as it builds: the first build takes ~40 s, later
  // runs are cached and print "cache hit".
  console.log('› building what the demo needs (first run ~40 s, then cached)');
  must('pnpm', ['turbo', 'run', 'build', '--filter=@herald/demo...', '--output-logs=hash-only']);
  // Run the demo's entry directly (not through `pnpm run`): a failing demo prints its own
  // error once, without pnpm's and this script's on top of it.
  process.exit(run(process.execPath, [join(root, 'apps/demo/dist/main.js'), ...extraArgs]));
} else if (command === 'test') {
  install();
  const services = existsSync(join(root, 'tooling/services/up.sh'));
  // Three Redis nodes: the lock adapter is tested on multi-node Redlock too.
  process.env.REDIS_NODES ??= '3';
  if (services && !process.env.HERALD_SKIP_SERVICES) {
    console.log(
      '› starting the local engines (tooling/services/up.sh): the first run installs Debian packages ' +
        '(PostgreSQL, MariaDB, Redis, RabbitMQ, OpenJDK and Maven for Kafka, Go for FerretDB, Chromium for the console test) as root; ' +
        'they keep running afterwards (stop them: bash tooling/services/down.sh)',
    );
    must('bash', ['tooling/services/up.sh']);
  }
  loadServiceEnv();
  clearReports();
  must('pnpm', ['turbo', 'run', 'build', 'typecheck', '--output-logs=errors-only']);
  must('pnpm', ['exec', 'biome', 'check', '.']);
  // --continue: a failing package does not hide the results of the packages after it.
  // --env-mode=loose: tests see the environment a developer's shell gives them. In turbo's strict
  // mode the packed-package test's `pnpm install` hung after resolving, every time, in CI only.
  const status = run('pnpm', [
    'turbo',
    'run',
    'test',
    '--concurrency=1',
    '--continue',
    '--env-mode=loose',
    ...extraArgs,
  ]);
  const { passed, failed, skipped, skippedBy, failedBy, failures, counted } = summarize();
  // Skips are capabilities a package lacks (each test names its reason); show where they are.
  if (skippedBy.size > 0) {
    console.log('\nSkipped tests per package:');
    for (const [name, count] of skippedBy) console.log(`  ${name}: ${count} skipped`);
  }
  if (failedBy.size > 0) {
    console.log('\nFailures per package (tests in a failed file count as skipped above):');
    for (const [name, what] of failedBy) console.log(`  ${name}: ${what}`);
  }
  console.log(`\nTest reports of ${counted.length} packages: ${counted.join(', ')}`);
  // Last, so that a log cut to its tail still names what failed and why.
  if (failures.length > 0) {
    console.log('\nFailed (test: start of the error):');
    for (const failure of failures.slice(0, 20)) console.log(`  ✖ ${failure}`);
  }
  console.log(`\nTests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(status !== 0 ? status : failed > 0 ? 1 : 0);
} else {
  console.error('usage: node tooling/scripts/herald-dev.mjs <demo|test> [args]');
  process.exit(2);
}
