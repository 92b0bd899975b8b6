import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireBroker, runId } from './helpers.js';

interface DumpedSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  links: string[];
}

/** Runs one service process to completion; resolves its spans. */
function runService(role: 'producer' | 'consumer', out: string, onReady?: () => void): Promise<DumpedSpan[]> {
  return new Promise((resolve, reject) => {
    const child = fork(join(import.meta.dirname, 'tracing/service.ts'), [role, runId, out], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('message', (message) => message === 'ready' && onReady?.());
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${role} exited with ${code}`));
      resolve(JSON.parse(readFileSync(out, 'utf8')) as DumpedSpan[]);
    });
  });
}

beforeAll(requireBroker);

describe('OpenTelemetry across processes', () => {
  it('finds one trace from the publishing request to the handler in another process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-tracing-'));
    let producer: Promise<DumpedSpan[]> | undefined;
    const consumer = runService('consumer', join(dir, 'consumer.json'), () => {
      producer = runService('producer', join(dir, 'producer.json'));
    });
    const consumerSpans = await consumer;
    const producerSpans = await producer!;

    const find = (spans: DumpedSpan[], prefix: string) => spans.find((span) => span.name.startsWith(prefix))!;
    const request = find(producerSpans, 'POST /orders');
    const create = find(producerSpans, 'create ');
    const send = find(producerSpans, 'send');
    const process_ = find(consumerSpans, 'process ');
    const work = find(consumerSpans, 'charge card');

    expect(create.parentSpanId).toBe(request.spanId);
    expect(send.links).toContain(create.spanId);
    expect(process_.traceId).toBe(request.traceId);
    expect(process_.parentSpanId).toBe(create.spanId);
    expect(work.parentSpanId).toBe(process_.spanId);
  }, 90_000);
});
