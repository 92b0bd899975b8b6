-- @herald/outbox-prisma 0003_fences (MariaDB / MySQL): the newest fencing token seen per lock
-- (one row per outbox relay lock, or per shard). A relay's claims and marks carry its
-- lock's token; a token older than the one stored here is refused.

CREATE TABLE IF NOT EXISTS `herald_fences` (
    `lock_key` VARCHAR(255) NOT NULL,
    `token` BIGINT NOT NULL,
    PRIMARY KEY (`lock_key`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
