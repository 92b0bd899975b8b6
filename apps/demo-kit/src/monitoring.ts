import type { IntegrationEventBus } from '@herald/core';

/** Counts of the bus's monitoring events (`bus.on(...)`): what an operator's dashboard shows. */
export interface MonitorCounts {
  sent: number;
  received: number;
  failed: number;
  deadLettered: number;
  duplicates: number;
}

export function emptyCounts(): MonitorCounts {
  return { sent: 0, received: 0, failed: 0, deadLettered: 0, duplicates: 0 };
}

/** Adds every monitoring event of `bus` to `counts`. */
export function countMonitoringEvents(bus: IntegrationEventBus, counts: MonitorCounts): void {
  bus.on('sent', () => counts.sent++);
  bus.on('received', () => counts.received++);
  bus.on('failed', (event) => {
    counts.failed++;
    if (process.env.HERALD_DEMO_DEBUG)
      console.error(
        `[${bus.service}] ${event.handler ?? event.stage} attempt ${event.attempt} failed: ${event.error}`,
      );
  });
  bus.on('dead-lettered', () => counts.deadLettered++);
  bus.on('duplicate', () => counts.duplicates++);
}

export function addCounts(into: MonitorCounts, from: MonitorCounts): void {
  for (const key of Object.keys(into) as (keyof MonitorCounts)[]) into[key] += from[key];
}

export function monitoringLine(counts: MonitorCounts): string {
  return (
    `monitoring (bus.on): sent=${counts.sent} received=${counts.received} failed=${counts.failed} ` +
    `dead-lettered=${counts.deadLettered} duplicate-deliveries-absorbed=${counts.duplicates}`
  );
}
