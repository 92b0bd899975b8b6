import { randomUUID } from 'node:crypto';
import type { HandlerContext } from '@herald/core';
import type { Collection, Db, OptionalUnlessRequiredId } from 'mongodb';
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

/** MongoDB's (and FerretDB's) duplicate-key error code. */
export const DUPLICATE_KEY = 11000;

/** Inserts a document unless one with its `_id` exists; true when this call inserted it. */
export async function insertOnce<T extends { _id: string }>(
  collection: Collection<T>,
  document: OptionalUnlessRequiredId<T>,
): Promise<boolean> {
  try {
    await collection.insertOne(document);
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === DUPLICATE_KEY) return false;
    throw error;
  }
}

/**
 * `--db mongodb`: there is no handler transaction (FerretDB has none), so the effect cannot
 * commit with the inbox entry. Instead it is idempotent by design: its `_id` is
 * `<message id>:<handler>`, so a handler that runs again for the same message (after a crash
 * between its writes and the inbox's) finds its effect recorded and adds nothing. The ledger's
 * `duplicates=0` therefore holds by construction on MongoDB; the business checks (units sold,
 * one mail per order) are what show the handlers' own writes were not repeated.
 */
export async function recordEffectOnce(db: Db, ctx: HandlerContext): Promise<void> {
  await insertOnce(db.collection<EffectDocument>('handler_effects'), {
    _id: `${ctx.envelope.id}:${ctx.handlerName}`,
    messageId: ctx.envelope.id,
    handler: ctx.handlerName,
    eventName: ctx.envelope.name,
  });
}

/** A `handler_effects` document (MongoDB). */
export interface EffectDocument {
  _id: string;
  messageId: string;
  handler: string;
  eventName: string;
}
