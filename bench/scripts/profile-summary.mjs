#!/usr/bin/env node
// Summarizes a V8 .cpuprofile (from `pnpm bench --cpu-prof`): self time per function and per
// package, so "where does the time go" has a short answer.
// usage: node scripts/profile-summary.mjs file.cpuprofile [top=25]
import { readFileSync } from 'node:fs';

const [file, topText] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/profile-summary.mjs file.cpuprofile [top]');
  process.exit(2);
}
const top = Number(topText ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const deltas = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const where = (url) => {
  if (!url) return '(native/V8)';
  const m = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  const pkg = /packages\/([^/]+)\//.exec(url);
  if (pkg) return `@herald/${pkg[1]}`;
  if (url.startsWith('node:')) return url;
  if (url.includes('/bench/')) return 'bench';
  return url.split('/').slice(-2).join('/');
};
const fn = new Map();
const pkg = new Map();
for (const [id, us] of self) {
  const node = byId.get(id);
  const cf = node.callFrame;
  const key = `${cf.functionName || '(anonymous)'} ${where(cf.url)}:${cf.lineNumber + 1}`;
  fn.set(key, (fn.get(key) ?? 0) + us);
  const p =
    cf.functionName === '(idle)'
      ? '(idle)'
      : cf.functionName === '(garbage collector)'
        ? '(gc)'
        : where(cf.url);
  pkg.set(p, (pkg.get(p) ?? 0) + us);
}
const pct = (us) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
console.log('\nby package:');
for (const [k, us] of [...pkg].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${pct(us)}  ${k}`);
console.log('\nby function (self time):');
for (const [k, us] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${k}`);
