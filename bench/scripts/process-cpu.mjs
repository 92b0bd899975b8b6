#!/usr/bin/env node
// CPU per process kind (PostgreSQL, RabbitMQ, Kafka, Redis, Node workers) while a command runs,
// from /proc (Linux): the answer to "is the machine saturated, and who uses it" that a single
// process's profile cannot give. Prints the CPU of each kind per half second, then the sums
// over the half-seconds where `--busy KIND` used more than 0.2 CPU-s (the measured phase).
// usage: node scripts/process-cpu.mjs [--busy rabbitmq] -- pnpm bench --quick --no-services --only relay-rabbit
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const separator = args.indexOf('--');
if (separator < 0 || separator === args.length - 1) {
  console.error('usage: node scripts/process-cpu.mjs [--busy KIND] -- command args…');
  process.exit(2);
}
const busyIndex = args.indexOf('--busy');
const busyKind = busyIndex >= 0 && busyIndex < separator ? args[busyIndex + 1] : undefined;
const [command, ...commandArgs] = args.slice(separator + 1);
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function kindOf(pid) {
  let cmd;
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').trim();
  } catch {
    return undefined;
  }
  const program = cmd.split(' ')[0] ?? '';
  if (cmd.includes('beam.smp')) return 'rabbitmq';
  if (program.endsWith('java') && /kafka/i.test(cmd)) return 'kafka';
  if (program.includes('redis-server')) return 'redis';
  if (program.endsWith('node')) return 'node';
  if (cmd.startsWith('postgres') || program.endsWith('/postgres')) return 'postgres';
  return undefined;
}

function cpuTicks() {
  const ticks = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(Number(entry), Number(fields[11]) + Number(fields[12])); // utime + stime
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks;
}

const baseline = cpuTicks();
const kinds = new Map();
const last = new Map();
let previous = new Map();
const rows = [];

function sample() {
  for (const [pid, ticks] of cpuTicks()) {
    if (!kinds.has(pid)) kinds.set(pid, kindOf(pid));
    if (kinds.get(pid)) last.set(pid, ticks);
  }
}

function totals() {
  const sums = new Map();
  for (const [pid, ticks] of last) {
    const kind = kinds.get(pid);
    sums.set(kind, (sums.get(kind) ?? 0) + (ticks - (baseline.get(pid) ?? 0)) / TICKS_PER_SECOND);
  }
  return sums;
}

const sampler = setInterval(sample, 50);
const reporter = setInterval(() => {
  const now = totals();
  const row = {};
  for (const [kind, seconds] of now) row[kind] = seconds - (previous.get(kind) ?? 0);
  previous = now;
  rows.push(row);
  const shown = Object.entries(row)
    .filter(([, seconds]) => seconds > 0.01)
    .map(([kind, seconds]) => `${kind}=${seconds.toFixed(2)}`)
    .join('  ');
  console.error(`[cpu ${new Date().toISOString().slice(11, 21)}] ${shown}`);
}, 500);

const child = spawn(command, commandArgs, { stdio: 'inherit' });
child.on('exit', (code) => {
  clearInterval(sampler);
  clearInterval(reporter);
  if (busyKind) {
    const measured = rows.filter((row) => (row[busyKind] ?? 0) > 0.2);
    const sums = {};
    for (const row of measured)
      for (const [kind, seconds] of Object.entries(row)) sums[kind] = (sums[kind] ?? 0) + seconds;
    const wall = measured.length * 0.5;
    const busy = Object.values(sums).reduce((a, b) => a + b, 0);
    console.log(`\nwhile ${busyKind} was busy (${wall.toFixed(1)} s): CPU-s by kind`, sums);
    console.log(
      `cores busy on average: ${(busy / Math.max(wall, 0.5)).toFixed(2)}; divide by the events in that window for CPU per event`,
    );
  }
  process.exit(code ?? 1);
});
