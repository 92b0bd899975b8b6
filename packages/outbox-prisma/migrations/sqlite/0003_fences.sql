-- @herald/outbox-prisma 0003_fences (SQLite): the newest fencing token seen per lock
-- (one row per outbox relay lock, or per shard). A relay's claims and marks carry its
-- lock's token; a token older than the one stored here is refused.

CREATE TABLE IF NOT EXISTS "herald_fences" (
    "lock_key" TEXT NOT NULL PRIMARY KEY,
    "token" BIGINT NOT NULL
);
