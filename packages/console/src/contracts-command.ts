import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type ContractDocument,
  type ContractSource,
  checkContracts,
  exportContracts,
  formatReport,
} from '@herald/contracts';

/** Options of `herald contracts …` (parsed by the CLI). */
export interface ContractsCommandOptions {
  readonly config?: string;
  readonly out?: string;
  readonly snapshot?: string;
  /** Contract files of other services, or directories of `*.json` contracts. */
  readonly peer?: readonly string[];
  readonly version?: string;
  readonly json?: boolean;
}

/**
 * `herald contracts export [--out FILE]`: writes the service's AsyncAPI document.
 * `herald contracts check --snapshot FILE [--peer FILE|DIR]...`: exit code 1 on a breaking change.
 */
export async function contractsCommand(
  verb: string | undefined,
  options: ContractsCommandOptions,
): Promise<number> {
  if (verb !== 'export' && verb !== 'check') {
    console.error(
      'usage: herald contracts export [--out FILE] | herald contracts check --snapshot FILE [--peer FILE|DIR]...',
    );
    return 2;
  }
  const source = await loadContractSource(options.config);
  const current = await exportContracts(source, options.version ? { version: options.version } : {});
  if (verb === 'export') {
    const text = `${JSON.stringify(current, null, 2)}\n`;
    if (!options.out) {
      process.stdout.write(text);
      return 0;
    }
    mkdirSync(dirname(resolve(options.out)), { recursive: true });
    writeFileSync(options.out, text);
    console.log(`wrote the contract of ${current.info['x-herald-service']} to ${options.out}`);
    return 0;
  }
  if (!options.snapshot)
    throw new Error(
      'contracts check needs --snapshot FILE (write one with: herald contracts export --out FILE)',
    );
  if (!existsSync(options.snapshot)) {
    throw new Error(
      `No snapshot at ${options.snapshot}: write one with herald contracts export --out ${options.snapshot}`,
    );
  }
  const snapshot = readJson(options.snapshot);
  const peers = readContractFiles(options.peer ?? [], [options.snapshot]);
  const report = checkContracts(current, snapshot, peers);
  console.log(options.json ? JSON.stringify(report, null, 2) : formatReport(report));
  return report.ok ? 0 : 1;
}

/** The config's default export: a bus or builder (anything with `catalog()`), or a function returning one. */
async function loadContractSource(configPath: string | undefined): Promise<ContractSource> {
  const candidates = configPath ? [configPath] : ['herald.config.js', 'herald.config.mjs'];
  const found = candidates.map((file) => resolve(file)).find((file) => existsSync(file));
  if (!found) throw new Error(`No config found (${candidates.join(', ')}). Pass --config FILE.`);
  const module = (await import(pathToFileURL(found).href)) as { default?: unknown };
  let value = module.default;
  if (typeof value === 'function') value = await (value as () => unknown)();
  if (!value || typeof (value as Partial<ContractSource>).catalog !== 'function') {
    throw new Error(`${found} must export default a bus or a builder (or a function returning one)`);
  }
  return value as ContractSource;
}

/** Reads contract files, or every `*.json` of a directory, leaving out the `except` files. */
export function readContractFiles(
  paths: readonly string[],
  except: readonly string[] = [],
): ContractDocument[] {
  const skipped = new Set(except.map((file) => resolve(file)));
  return paths
    .flatMap(contractFiles)
    .filter((file) => !skipped.has(resolve(file)))
    .map(readJson);
}

function contractFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => join(path, name));
}

function readJson(file: string): ContractDocument {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ContractDocument;
  } catch (error) {
    throw new Error(
      `${file} is not a JSON contract: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
