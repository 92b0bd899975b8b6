import type { MachineInfo } from './machine.ts';
import type { WorkloadResult } from './workload.ts';

const fmt = (value: unknown, digits = 0): string => {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
};

/** The main figure of a workload and what it is. */
function figure(result: WorkloadResult): string {
  if (typeof result.txPerSec === 'number') return `${fmt(result.txPerSec)} tx/s`;
  if (typeof result.eventsPerSec === 'number') return `${fmt(result.eventsPerSec)} ev/s`;
  if (typeof result.queriesPerSec === 'number') return `${fmt(result.queriesPerSec as number, 2)} q/s`;
  return '–';
}

/** Whatever else a workload wants to show in one short cell. */
function extra(result: WorkloadResult): string {
  const parts: string[] = [];
  if (typeof result.statementsPerEvent === 'number')
    parts.push(`${fmt(result.statementsPerEvent, 1)} stmt/ev`);
  if (typeof result.walBytesPerEvent === 'number') parts.push(`${fmt(result.walBytesPerEvent)} WAL B/ev`);
  if (typeof result.cpuPercent === 'number') parts.push(`CPU ${fmt(result.cpuPercent, 2)}%`);
  if (typeof result.rssMb === 'number') parts.push(`RSS ${fmt(result.rssMb)} MB`);
  if (typeof result.duplicates === 'number') parts.push(`dup ${result.duplicates}`);
  if (typeof result.summary === 'string') parts.push(result.summary);
  return parts.join(', ');
}

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) =>
          i === 0 || i === r.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!),
        )
        .join('  '),
    )
    .join('\n');
}

/** The readable table: one line per workload (and per variant), then the targets. */
export function renderTable(machine: MachineInfo, results: Record<string, WorkloadResult>): string {
  const rows: string[][] = [['workload', 'throughput', 'ratio', 'p50 ms', 'p99 ms', 'max ms', 'notes']];
  const add = (id: string, r: WorkloadResult) => {
    if (r.error) {
      rows.push([id, 'ERROR', '', '', '', '', String(r.error).split('\n')[0]!.slice(0, 100)]);
      return;
    }
    rows.push([id, figure(r), fmt(r.ratio, 2), fmt(r.p50Ms, 2), fmt(r.p99Ms, 2), fmt(r.maxMs, 2), extra(r)]);
  };
  for (const [id, result] of Object.entries(results)) {
    add(id, result);
    const variants = result.variants as Record<string, WorkloadResult> | undefined;
    for (const [name, variant] of Object.entries(variants ?? {})) add(`  ${id}/${name}`, variant);
  }
  const lines = [
    `machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}, ` +
      `PostgreSQL ${machine.postgres ?? '–'}, RabbitMQ ${machine.rabbitmq ?? '–'}, Kafka ${machine.kafka ?? '–'}, Redis ${machine.redis ?? '–'}`,
    `load average at start ${machine.loadAverageAtStart.join(' ')}` +
      (machine.loadAverageAtEnd ? `, at end ${machine.loadAverageAtEnd.join(' ')}` : ''),
    '',
    pad(rows),
    '',
    'targets:',
  ];
  for (const [id, result] of Object.entries(results)) {
    for (const target of result.targets ?? [])
      lines.push(`  ${target.met ? '✓' : '✗'} ${id}: ${target.label}`);
  }
  return lines.join('\n');
}
