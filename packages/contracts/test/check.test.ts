import { createIntegrationEventBus, defineEvent, type EventType, silentLogger } from '@herald/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type ContractReport,
  catalogEntries,
  checkContracts,
  exportContracts,
  formatReport,
} from '../src/index.js';

/** A contract of `service` sending and handling events (each handler named after the service). */
async function contract(service: string, sends: EventType[], handles: EventType[] = []) {
  const builder = createIntegrationEventBus({ service, logger: silentLogger }).publishes(...sends);
  for (const type of handles) builder.handle(type, () => {}, { name: `${service}.on.${type.eventName}` });
  return exportContracts(builder);
}

const placed = (
  schema: z.ZodType,
  options: { version?: number; upcasters?: Record<number, (p: any) => unknown> } = {},
) => defineEvent('ordering.order-placed', { schema, ...options });

const v1Shape = {
  orderId: z.string(),
  total: z.number(),
  status: z.enum(['new', 'paid']),
  note: z.string().optional(),
};
const OrderPlacedV1 = placed(z.object(v1Shape));

const breaking = (report: ContractReport) =>
  report.findings.filter((f) => f.severity === 'breaking').map((f) => [f.rule, f.field ?? f.event, f.peer]);

describe('checkContracts', () => {
  it('passes an unchanged contract and a first export without snapshot', async () => {
    const current = await contract('ordering', [OrderPlacedV1]);
    expect(checkContracts(current, current).ok).toBe(true);
    expect(checkContracts(current, undefined).ok).toBe(true);
  });

  describe('event-removed', () => {
    it('fails when a published event is gone while a consumer still handles it, hinting at a rename', async () => {
      const snapshot = await contract('ordering', [OrderPlacedV1]);
      const current = await contract('ordering', [
        defineEvent('ordering.order-submitted', { schema: z.object(v1Shape) }),
      ]);
      const consumer = await contract('notification', [], [OrderPlacedV1]);
      const report = checkContracts(current, snapshot, [consumer]);
      expect(report.ok).toBe(false);
      expect(breaking(report)).toEqual([['event-removed', 'ordering.order-placed', 'notification']]);
      expect(report.findings[0]!.message).toContain('renamed? new here: ordering.order-submitted');
      expect(report.findings[0]!.message).toContain('notification.on.ordering.order-placed');
    });

    it('passes when no consumer contract handles the removed event', async () => {
      const snapshot = await contract('ordering', [OrderPlacedV1]);
      const current = await contract('ordering', []);
      const report = checkContracts(current, snapshot, [await contract('billing', [])]);
      expect(report.ok).toBe(true);
      expect(report.findings.map((f) => [f.rule, f.severity])).toEqual([['event-removed', 'info']]);
    });
  });

  describe('field-removed', () => {
    it('fails when a field a consumer reads is removed, or made optional while the consumer requires it', async () => {
      const snapshot = await contract('ordering', [OrderPlacedV1]);
      const { note: _note, ...withoutNote } = v1Shape;
      const current = await contract('ordering', [
        placed(z.object({ ...withoutNote, total: z.number().optional() })),
      ]);
      const consumer = await contract('notification', [], [OrderPlacedV1]);
      const report = checkContracts(current, snapshot, [consumer]);
      expect(breaking(report)).toEqual([
        ['field-removed', 'total', 'notification'],
        ['field-removed', 'note', 'notification'],
      ]);
    });

    it('passes when the removed field is one no consumer reads (a warning remains)', async () => {
      const snapshot = await contract('ordering', [OrderPlacedV1]);
      const { note: _note, ...withoutNote } = v1Shape;
      const current = await contract('ordering', [placed(z.object(withoutNote))]);
      const consumer = await contract('notification', [], [placed(z.object({ orderId: z.string() }))]);
      const report = checkContracts(current, snapshot, [consumer]);
      expect(report.ok).toBe(true);
      expect(report.findings.map((f) => [f.rule, f.severity, f.field])).toEqual([
        ['field-removed', 'warning', 'note'],
      ]);
    });
  });

  describe('field-retyped', () => {
    it('fails when a field a consumer reads changes its JSON type', async () => {
      const snapshot = await contract('ordering', [OrderPlacedV1]);
      const current = await contract('ordering', [placed(z.object({ ...v1Shape, total: z.string() }))]);
      const report = checkContracts(current, snapshot, [await contract('notification', [], [OrderPlacedV1])]);
      expect(breaking(report)).toEqual([['field-retyped', 'total', 'notification']]);
      expect(report.findings[0]!.message).toBe('total: string is sent; notification accepts number');
    });

    it('passes a narrower type the consumer still accepts (number → integer)', async () => {
      const snapshot = await contract('ordering', [OrderPlacedV1]);
      const current = await contract('ordering', [placed(z.object({ ...v1Shape, total: z.number().int() }))]);
      const report = checkContracts(current, snapshot, [await contract('notification', [], [OrderPlacedV1])]);
      expect(report.ok).toBe(true);
    });
  });

  describe('required-field-added', () => {
    const withCurrency = z.object({ ...v1Shape, currency: z.string() });

    it('fails on a new required field without a version bump and upcaster', async () => {
      const snapshot = await contract('ordering', [OrderPlacedV1]);
      const report = checkContracts(await contract('ordering', [placed(withCurrency)]), snapshot);
      expect(breaking(report)).toEqual([['required-field-added', 'currency', undefined]]);
      expect(report.findings[0]!.message).toContain('without a version bump and an upcaster');
    });

    it('fails on a version bump without the upcaster', async () => {
      const snapshot = await contract('ordering', [OrderPlacedV1]);
      const report = checkContracts(
        await contract('ordering', [placed(withCurrency, { version: 2 })]),
        snapshot,
      );
      expect(breaking(report)).toEqual([
        ['upcaster-missing', 'ordering.order-placed', undefined],
        ['required-field-added', 'currency', undefined],
      ]);
    });

    it('passes with a version bump and an upcaster from the previous version', async () => {
      const snapshot = await contract('ordering', [OrderPlacedV1]);
      const current = await contract('ordering', [
        placed(withCurrency, { version: 2, upcasters: { 1: (p) => ({ ...p, currency: 'EUR' }) } }),
      ]);
      const report = checkContracts(current, snapshot, [await contract('notification', [], [OrderPlacedV1])]);
      expect(report.ok).toBe(true);
      expect(report.findings.map((f) => [f.rule, f.severity])).toEqual([['required-field-added', 'info']]);
    });

    it('passes a new optional field (additive)', async () => {
      const snapshot = await contract('ordering', [OrderPlacedV1]);
      const current = await contract('ordering', [
        placed(z.object({ ...v1Shape, coupon: z.string().optional() })),
      ]);
      const report = checkContracts(current, snapshot, [await contract('notification', [], [OrderPlacedV1])]);
      expect(report).toMatchObject({ ok: true, findings: [] });
    });
  });

  describe('enum-narrowed', () => {
    it('fails when the producer drops an enum value', async () => {
      const snapshot = await contract('ordering', [OrderPlacedV1]);
      const current = await contract('ordering', [placed(z.object({ ...v1Shape, status: z.enum(['new']) }))]);
      expect(breaking(checkContracts(current, snapshot))).toEqual([['enum-narrowed', 'status', undefined]]);
    });

    it('fails when a value is sent that a consumer enum does not accept', async () => {
      const wider = placed(z.object({ ...v1Shape, status: z.enum(['new', 'paid', 'refunded']) }));
      const snapshot = await contract('ordering', [OrderPlacedV1]);
      const report = checkContracts(await contract('ordering', [wider]), snapshot, [
        await contract('notification', [], [OrderPlacedV1]),
      ]);
      expect(breaking(report)).toEqual([['enum-narrowed', 'status', 'notification']]);
      expect(report.findings[0]!.message).toContain(
        '"refunded" may be sent; notification accepts only "new", "paid"',
      );
    });

    it('passes a new enum value the consumers accept (additive)', async () => {
      const wider = placed(z.object({ ...v1Shape, status: z.enum(['new', 'paid', 'refunded']) }));
      const snapshot = await contract('ordering', [OrderPlacedV1]);
      const report = checkContracts(await contract('ordering', [wider]), snapshot, [
        await contract('notification', [], [wider]),
      ]);
      expect(report).toMatchObject({ ok: true, findings: [] });
    });
  });

  describe('versions', () => {
    it('fails when the version goes down', async () => {
      const snapshot = await contract('ordering', [
        placed(z.object(v1Shape), { version: 2, upcasters: { 1: (p) => p } }),
      ]);
      expect(breaking(checkContracts(await contract('ordering', [OrderPlacedV1]), snapshot))).toEqual([
        ['version-decreased', 'ordering.order-placed', undefined],
      ]);
    });

    it('fails when a consumer reads a newer version with no upcaster from the sent one, passes with it', async () => {
      const current = await contract('ordering', [OrderPlacedV1]);
      const ahead = (upcasters: Record<number, (p: any) => unknown>) =>
        contract(
          'notification',
          [],
          [placed(z.object({ ...v1Shape, currency: z.string() }), { version: 2, upcasters })],
        );
      expect(breaking(checkContracts(current, current, [await ahead({})]))).toEqual([
        ['upcaster-missing', 'ordering.order-placed', 'notification'],
      ]);
      expect(
        checkContracts(current, current, [await ahead({ 1: (p) => ({ ...p, currency: 'EUR' }) })]).ok,
      ).toBe(true);
    });
  });

  it('checks what this service handles against the contracts of the services that send it', async () => {
    const mine = await contract('notification', [], [placed(z.object({ ...v1Shape, channel: z.string() }))]);
    const producer = await contract('ordering', [OrderPlacedV1]);
    const report = checkContracts(mine, mine, [producer]);
    expect(breaking(report)).toEqual([['field-removed', 'channel', 'ordering']]);
    expect(report.findings[0]!.message).toBe('channel is not sent, but notification requires it');
  });

  it('fails when a field is sent to a consumer object that refuses unknown fields', async () => {
    const current = await contract('ordering', [
      placed(z.object({ ...v1Shape, coupon: z.string().optional() })),
    ]);
    const strict = await contract('notification', [], [placed(z.strictObject(v1Shape))]);
    expect(breaking(checkContracts(current, current, [strict]))).toEqual([
      ['field-unknown-to-consumer', 'coupon', 'notification'],
    ]);
  });

  it('prints a readable report, breaking lines first', async () => {
    const snapshot = await contract('ordering', [OrderPlacedV1]);
    const current = await contract('ordering', [
      placed(z.object({ ...v1Shape, total: z.string(), coupon: z.string() })),
    ]);
    const text = formatReport(
      checkContracts(current, snapshot, [await contract('notification', [], [OrderPlacedV1])]),
    );
    expect(text.split('\n')).toEqual([
      'contracts of ordering: 2 breaking changes',
      expect.stringMatching(
        /^ {2}BREAKING field-retyped +ordering\.order-placed \[notification\]: total: string is sent; notification accepts number$/,
      ),
      expect.stringMatching(
        /^ {2}BREAKING required-field-added +ordering\.order-placed: coupon: new required field without a version bump and an upcaster: v1 messages lack it$/,
      ),
    ]);
  });
});

describe('catalogEntries', () => {
  it('merges services into one entry per event with versions, schema, producers and consumers', async () => {
    const ordering = await contract('ordering', [OrderPlacedV1]);
    const notification = await contract(
      'notification',
      [],
      [placed(z.object(v1Shape), { version: 2, upcasters: { 1: (p) => p } })],
    );
    const [entry, ...rest] = catalogEntries([ordering, notification]);
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({
      name: 'ordering.order-placed',
      versions: [1, 2],
      schemaKind: 'json-schema',
      upcasters: [],
      producers: [{ service: 'ordering', version: 1 }],
      consumers: [
        {
          service: 'notification',
          handler: 'notification.on.ordering.order-placed',
          group: 'notification',
          version: 2,
        },
      ],
    });
    expect(entry!.schema).toMatchObject({ required: ['orderId', 'total', 'status'] });
  });
});
