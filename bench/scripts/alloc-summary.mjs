// usage: node scripts/alloc-summary.mjs file.heapprofile [top=20]
// Sums a sampled allocation profile (BENCH_ALLOC_PROFILE) by package and by function, self bytes.
import { readFileSync } from 'node:fs';

const [file, topText] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/alloc-summary.mjs file.heapprofile [top]');
  process.exit(2);
}
const top = Number(topText ?? 20);
const { head } = JSON.parse(readFileSync(file, 'utf8'));
const byPackage = new Map();
const byFunction = new Map();
let total = 0;
const packageOf = (url) => {
  if (!url) return '(native/V8)';
  const match = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (match) return match[1];
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const herald = /packages\/([^/]+)\//.exec(url);
  return herald ? `@herald/${herald[1]}` : url.includes('/bench/') ? 'bench' : url;
};
const walk = (node) => {
  const self = node.selfSize ?? 0;
  total += self;
  const frame = node.callFrame;
  const pkg = packageOf(frame.url);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + self);
  const name = `${frame.functionName || '(anonymous)'} ${pkg}:${frame.lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + self);
  for (const child of node.children ?? []) walk(child);
};
walk(head);
const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const show = (title, map) => {
  console.log(`\n${title}:`);
  for (const [name, bytes] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`  ${((bytes / total) * 100).toFixed(1).padStart(5)}%  ${mb(bytes).padStart(9)}  ${name}`);
};
console.log(`${file}: ${mb(total)} sampled allocations`);
show('by package', byPackage);
show('by function (self)', byFunction);
