-- @herald/outbox-prisma 0001_init (SQLite). Times are Unix epoch milliseconds (UTC).
-- Apply with migrate(), or paste into a Prisma migration; table names start with the
-- table prefix (herald_ by default; migrate() rewrites it).

CREATE TABLE IF NOT EXISTS "herald_outbox" (
    "sequence" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "ordering_key" TEXT,
    "bucket" INTEGER NOT NULL,
    "headers" TEXT NOT NULL,
    "body" BLOB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "created_at" BIGINT NOT NULL,
    "next_attempt_at" BIGINT,
    "lease_until" BIGINT NOT NULL DEFAULT 0,
    "lease_owner" TEXT,
    "last_error" TEXT,
    "published_at" BIGINT
);

CREATE UNIQUE INDEX IF NOT EXISTS "herald_outbox_id_key" ON "herald_outbox" ("id");

-- The relay's claim walks unfinished records in sequence order.
CREATE INDEX IF NOT EXISTS "herald_outbox_open_idx" ON "herald_outbox" ("sequence")
    WHERE "status" IN ('pending', 'failed');

-- Per-key blocking: "is there an unfinished record of this key with a lower sequence?"
CREATE INDEX IF NOT EXISTS "herald_outbox_open_key_idx" ON "herald_outbox" ("ordering_key", "sequence")
    WHERE "status" IN ('pending', 'failed') AND "ordering_key" IS NOT NULL;

-- Cleanup of published records.
CREATE INDEX IF NOT EXISTS "herald_outbox_published_idx" ON "herald_outbox" ("published_at")
    WHERE "status" = 'published';

CREATE TABLE IF NOT EXISTS "herald_inbox" (
    "sequence" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "message_id" TEXT NOT NULL,
    "handler" TEXT NOT NULL,
    "event_name" TEXT NOT NULL,
    "ordering_key" TEXT,
    "status" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "received_at" BIGINT NOT NULL,
    "updated_at" BIGINT NOT NULL,
    "next_attempt_at" BIGINT,
    "lease_until" BIGINT NOT NULL DEFAULT 0,
    "lease_owner" TEXT,
    "last_error" TEXT,
    "headers" TEXT,
    "body" BLOB
);

-- Deduplication: one entry per (handler, message).
CREATE UNIQUE INDEX IF NOT EXISTS "herald_inbox_handler_message_id_key" ON "herald_inbox" ("handler", "message_id");

-- The retry processor's claim walks unfinished entries in sequence order.
CREATE INDEX IF NOT EXISTS "herald_inbox_open_idx" ON "herald_inbox" ("sequence")
    WHERE "status" IN ('processing', 'failed');

-- Per-(handler, key) blocking and parked-key checks.
CREATE INDEX IF NOT EXISTS "herald_inbox_open_key_idx" ON "herald_inbox" ("handler", "ordering_key", "sequence")
    WHERE "status" IN ('processing', 'failed') AND "ordering_key" IS NOT NULL;

-- Cleanup of processed entries.
CREATE INDEX IF NOT EXISTS "herald_inbox_processed_idx" ON "herald_inbox" ("updated_at")
    WHERE "status" = 'processed';
