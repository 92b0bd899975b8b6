// The API reference: TypeDoc with typedoc-plugin-markdown renders every public package's API
// (typedoc.json at the root; `pnpm docs:api` writes docs/api/). This test renders it into a
// scratch folder and fails on any TypeDoc warning — a broken {@link}, a type the API uses but
// does not export — on an undocumented export that api-undocumented.txt does not list (and on
// a listed one that is documented now), and on a link between the generated pages that leads
// nowhere.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicPackages, runCommand } from '../src/packages.js';
import { repoRoot } from '../src/repo.js';

const require = createRequire(import.meta.url);
const typedoc = join(dirname(require.resolve('typedoc/package.json')), 'bin/typedoc');
const baselineFile = join(repoRoot, 'tooling/checks/api-undocumented.txt');

let out: string;
let code: number;
let warnings: string[];

/** `@herald/core Name.member (Kind)` from TypeDoc's "does not have any documentation" warning. */
function gapOf(warning: string): string | undefined {
  const match = /^(.+) \((\w+)\), defined in (@herald\/[^/]+)\/.* does not have any documentation$/.exec(
    warning,
  );
  return match ? `${match[3]} ${match[1]} (${match[2]})` : undefined;
}

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? markdownFiles(path) : path.endsWith('.md') ? [path] : [];
  });
}

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'herald-api-docs-'));
  const result = await runCommand(process.execPath, [typedoc, '--options', 'typedoc.json', '--out', out], {
    cwd: repoRoot,
    timeoutMs: 240_000,
  });
  code = result.code;
  warnings = result.output
    // biome-ignore lint/suspicious/noControlCharactersInRegex: TypeDoc colours its log lines
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .filter((line) => /^\[(warning|error)\]/.test(line))
    .map((line) => line.replace(/^\[(warning|error)\] /, ''))
    .filter((line) => !/^Found \d+ errors and \d+ warnings$/.test(line));
}, 300_000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

describe('API reference (TypeDoc, Markdown)', () => {
  it('renders every public package', () => {
    expect(code).toBe(0);
    for (const pkg of publicPackages())
      expect(existsSync(join(out, pkg.name, 'README.md')), pkg.name).toBe(true);
  });

  it('has no broken link and no type used but not exported', () => {
    expect(warnings.filter((warning) => gapOf(warning) === undefined)).toEqual([]);
  });

  it('has no undocumented export beyond the listed ones, and the list holds no documented one', () => {
    const baseline = new Set(
      readFileSync(baselineFile, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '' && !line.startsWith('#')),
    );
    const gaps = new Set(warnings.map(gapOf).filter((gap) => gap !== undefined));
    expect({ undocumentedNotListed: [...gaps].filter((gap) => !baseline.has(gap)) }).toEqual({
      undocumentedNotListed: [],
    });
    expect({ listedButDocumented: [...baseline].filter((gap) => !gaps.has(gap)) }).toEqual({
      listedButDocumented: [],
    });
  });

  it('every link between the generated pages leads to a page', () => {
    const broken: string[] = [];
    for (const file of markdownFiles(out)) {
      for (const match of readFileSync(file, 'utf8').matchAll(/\]\(([^)#\s]+\.md)(?:#[^)]*)?\)/g)) {
        const target = match[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        if (!existsSync(resolve(dirname(file), decodeURI(target))))
          broken.push(`${file.slice(out.length)} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
