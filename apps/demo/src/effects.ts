import { randomUUID } from 'node:crypto';
import type { HandlerContext } from '@herald/core';
import type { DemoTx } from './database.js';

/**
 * Records that this handler ran for this message, in the handler's transaction (`ctx.tx`):
 * the row commits together with the handler's business write and Herald's inbox entry, or
 * not at all. The demo's ledger counts these rows — a second row for the same message and
 * handler would be a duplicate effect — instead of trusting counters kept in memory.
 */
export async function recordEffect(ctx: HandlerContext): Promise<void> {
  await (ctx.tx as DemoTx).handlerEffect.create({
    data: {
      id: randomUUID(),
      messageId: ctx.envelope.id,
      handler: ctx.handlerName,
      eventName: ctx.envelope.name,
    },
  });
}
