-- @herald/outbox-prisma 0001_init (PostgreSQL). Times are Unix epoch milliseconds (UTC).
-- Apply with migrate(), or paste into a Prisma migration; table names start with the
-- table prefix (herald_ by default; migrate() rewrites it).

CREATE TABLE IF NOT EXISTS "herald_outbox" (
    "sequence" BIGSERIAL NOT NULL,
    "id" VARCHAR(36) NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "ordering_key" VARCHAR(255),
    "bucket" INTEGER NOT NULL,
    "headers" TEXT NOT NULL,
    "body" BYTEA NOT NULL,
    "status" VARCHAR(16) NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "created_at" BIGINT NOT NULL,
    "next_attempt_at" BIGINT,
    "lease_until" BIGINT NOT NULL DEFAULT 0,
    "lease_owner" VARCHAR(255),
    "last_error" TEXT,
    "published_at" BIGINT,
    CONSTRAINT "herald_outbox_pkey" PRIMARY KEY ("sequence")
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
    "sequence" BIGSERIAL NOT NULL,
    "message_id" VARCHAR(255) NOT NULL,
    "handler" VARCHAR(255) NOT NULL,
    "event_name" VARCHAR(255) NOT NULL,
    "ordering_key" VARCHAR(255),
    "status" VARCHAR(16) NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "received_at" BIGINT NOT NULL,
    "updated_at" BIGINT NOT NULL,
    "next_attempt_at" BIGINT,
    "lease_until" BIGINT NOT NULL DEFAULT 0,
    "lease_owner" VARCHAR(255),
    "last_error" TEXT,
    "headers" TEXT,
    "body" BYTEA,
    CONSTRAINT "herald_inbox_pkey" PRIMARY KEY ("sequence")
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
