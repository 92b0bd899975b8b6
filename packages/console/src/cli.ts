#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { EventLogConfig, IntegrationEventBus } from '@herald/core';
import { contractsCommand, readContractFiles } from './contracts-command.js';
import { Operations, type RecordView } from './operations.js';
import { createConsoleServer } from './server.js';

const USAGE = `herald — see and repair the event flow

usage:
  herald outbox list [--status S] [--event NAME] [--before ISO-TIME] [--log NAME] [--limit N] [--json]
  herald inbox list  [--status S] [--event NAME] [--handler H] [--before ISO-TIME] [--log NAME] [--limit N] [--json]
  herald outbox show <id>            herald inbox show <id> --handler H
  herald outbox requeue <id...>      herald inbox requeue <id...> --handler H
  herald outbox purge <id...>        herald inbox purge <id...> --handler H
  herald console [--port 8080] [--host 127.0.0.1] [--allow-host NAME]... [--peer FILE|DIR]...
  herald health
  herald contracts export [--out FILE] [--version V]
  herald contracts check --snapshot FILE [--peer FILE|DIR]... [--json]

options:
  --config FILE   module whose default export is your bus (or a function returning it,
                  or { eventLogs }; for contracts also a builder); default: herald.config.js / .mjs
                  in this directory
  contracts check exits 1 on a breaking change; --peer takes other services' contract
  files (or a directory of them): their handlers are checked against what this one sends.

The console's API needs a token: HERALD_CONSOLE_TOKEN (16+ characters), or a random one per
start. The URL printed at start carries it in its #fragment; open that URL.`;

type Source = IntegrationEventBus | { eventLogs: readonly EventLogConfig[] };

async function loadSource(configPath: string | undefined): Promise<Source> {
  const candidates = configPath ? [configPath] : ['herald.config.js', 'herald.config.mjs'];
  const found = candidates.map((file) => resolve(file)).find((file) => existsSync(file));
  if (!found) throw new Error(`No config found (${candidates.join(', ')}). Pass --config FILE.`);
  const module = (await import(pathToFileURL(found).href)) as { default?: unknown };
  let value = module.default;
  if (typeof value === 'function') value = await (value as () => unknown)();
  if (!value || typeof value !== 'object' || !('eventLogs' in value)) {
    throw new Error(`${found} must export default a bus, a function returning one, or { eventLogs }`);
  }
  return value as Source;
}

function instant(text: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new Error(`--before "${text}" is not a date`);
  return date;
}

function table(views: readonly RecordView[]): string {
  if (views.length === 0) return '(no records)';
  const rows = views.map((v) => [
    v.eventName,
    v.id,
    v.handler ?? '',
    v.status,
    String(v.attempts),
    v.createdAt,
    v.nextAttemptAt ?? '',
    (v.lastError ?? '').slice(0, 60),
  ]);
  const header = ['EVENT', 'ID', 'HANDLER', 'STATUS', 'ATTEMPTS', 'CREATED', 'DUE', 'LAST ERROR'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/**
 * Runs the `herald` command line with `argv` (the arguments after the program name) and
 * resolves to its exit code: 0 on success; 1 when `show` finds no record, `requeue` changes
 * none, `health` is not ready or `contracts check` finds a breaking change; 2 on a usage error.
 * Rejects with an `Error` for a missing or invalid config or argument. `herald console` never
 * resolves: it serves until the process ends.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      status: { type: 'string' },
      event: { type: 'string' },
      handler: { type: 'string' },
      log: { type: 'string' },
      before: { type: 'string' },
      limit: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'allow-host': { type: 'string', multiple: true },
      json: { type: 'boolean' },
      out: { type: 'string' },
      snapshot: { type: 'string' },
      peer: { type: 'string', multiple: true },
      version: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [area, verb, ...ids] = positionals;
  if (values.help || !area) {
    console.log(USAGE);
    return area || values.help ? 0 : 2;
  }
  if (area === 'contracts') return contractsCommand(verb, values);
  const source = await loadSource(values.config);
  const operations = new Operations(source);
  const print = (value: unknown, text: () => string) =>
    console.log(values.json ? JSON.stringify(value, null, 2) : text());

  if (area === 'health') {
    if (!('health' in source)) throw new Error('health needs the config to export a bus');
    const health = await source.health();
    print(health, () => JSON.stringify(health, null, 2));
    return health.ready ? 0 : 1;
  }
  if (area === 'console') {
    if (!('health' in source)) throw new Error('console needs the config to export a bus');
    const allowHosts = values['allow-host'];
    const token = process.env.HERALD_CONSOLE_TOKEN;
    const server = await createConsoleServer(source, {
      port: Number(values.port ?? 8080),
      host: values.host ?? '127.0.0.1',
      ...(token ? { token } : {}),
      ...(allowHosts?.length ? { allowedHosts: ['localhost', '127.0.0.1', '[::1]', ...allowHosts] } : {}),
      ...(values.peer?.length ? { contracts: readContractFiles(values.peer) } : {}),
    });
    // Printed once: the only place the generated token appears.
    console.log(`Herald console on ${server.loginUrl}`);
    await new Promise(() => {});
    return 0;
  }
  if (area !== 'outbox' && area !== 'inbox') {
    console.error(USAGE);
    return 2;
  }
  const keys = () => {
    if (!values.handler) throw new Error('inbox records are keyed by message id and handler: pass --handler');
    return ids.map((messageId) => ({ messageId, handler: values.handler! }));
  };
  switch (verb) {
    case 'list': {
      const query = {
        ...(values.status ? { status: values.status } : {}),
        ...(values.event ? { eventName: values.event } : {}),
        ...(values.handler ? { handler: values.handler } : {}),
        ...(values.log ? { log: values.log } : {}),
        ...(values.before ? { before: instant(values.before) } : {}),
        limit: Number(values.limit ?? 50),
      };
      const views =
        area === 'outbox' ? await operations.listOutbox(query) : await operations.listInbox(query);
      print(views, () => table(views));
      return 0;
    }
    case 'show': {
      const view = await operations.show(area, ids[0] ?? '', values.handler);
      if (!view) {
        console.error(`No ${area} record ${ids[0]}`);
        return 1;
      }
      print(view, () => JSON.stringify(view, null, 2));
      return 0;
    }
    case 'requeue': {
      const changed =
        area === 'outbox'
          ? await operations.requeueOutbox(ids, values.log)
          : await operations.requeueInbox(keys(), values.log);
      print({ changed }, () => `re-queued ${changed} record(s)`);
      return changed > 0 ? 0 : 1;
    }
    case 'purge': {
      const changed =
        area === 'outbox'
          ? await operations.purgeOutbox(ids, values.log)
          : await operations.purgeInbox(keys(), values.log);
      print({ changed }, () => `purged ${changed} record(s)`);
      return 0;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

const invokedDirectly = process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`herald: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
