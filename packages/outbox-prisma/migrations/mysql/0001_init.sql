-- @herald/outbox-prisma 0001_init (MariaDB 10.6+ / MySQL 8+). Times are Unix epoch milliseconds (UTC).
-- Apply with migrate(), or paste into a Prisma migration; table names start with the
-- table prefix (herald_ by default; migrate() rewrites it). No partial indexes here, so the
-- claim and cleanup indexes lead with the status. utf8mb4_bin: ids, handler and event
-- names compare exactly, as on PostgreSQL and SQLite.

CREATE TABLE IF NOT EXISTS `herald_outbox` (
    `sequence` BIGINT NOT NULL AUTO_INCREMENT,
    `id` VARCHAR(36) NOT NULL,
    `name` VARCHAR(255) NOT NULL,
    `ordering_key` VARCHAR(255) NULL,
    `bucket` INTEGER NOT NULL,
    `headers` MEDIUMTEXT NOT NULL,
    `body` LONGBLOB NOT NULL,
    `status` VARCHAR(16) NOT NULL DEFAULT 'pending',
    `attempts` INTEGER NOT NULL DEFAULT 0,
    `created_at` BIGINT NOT NULL,
    `next_attempt_at` BIGINT NULL,
    `lease_until` BIGINT NOT NULL DEFAULT 0,
    `lease_owner` VARCHAR(255) NULL,
    `last_error` MEDIUMTEXT NULL,
    `published_at` BIGINT NULL,

    UNIQUE INDEX `herald_outbox_id_key`(`id`),
    INDEX `herald_outbox_status_sequence_idx`(`status`, `sequence`),
    INDEX `herald_outbox_ordering_key_status_sequence_idx`(`ordering_key`, `status`, `sequence`),
    INDEX `herald_outbox_status_published_at_idx`(`status`, `published_at`),
    PRIMARY KEY (`sequence`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

CREATE TABLE IF NOT EXISTS `herald_inbox` (
    `sequence` BIGINT NOT NULL AUTO_INCREMENT,
    `message_id` VARCHAR(255) NOT NULL,
    `handler` VARCHAR(255) NOT NULL,
    `event_name` VARCHAR(255) NOT NULL,
    `ordering_key` VARCHAR(255) NULL,
    `status` VARCHAR(16) NOT NULL,
    `attempts` INTEGER NOT NULL DEFAULT 0,
    `received_at` BIGINT NOT NULL,
    `updated_at` BIGINT NOT NULL,
    `next_attempt_at` BIGINT NULL,
    `lease_until` BIGINT NOT NULL DEFAULT 0,
    `lease_owner` VARCHAR(255) NULL,
    `last_error` MEDIUMTEXT NULL,
    `headers` MEDIUMTEXT NULL,
    `body` LONGBLOB NULL,

    UNIQUE INDEX `herald_inbox_handler_message_id_key`(`handler`, `message_id`),
    INDEX `herald_inbox_status_sequence_idx`(`status`, `sequence`),
    INDEX `herald_inbox_handler_ordering_key_status_sequence_idx`(`handler`, `ordering_key`, `status`, `sequence`),
    INDEX `herald_inbox_status_updated_at_idx`(`status`, `updated_at`),
    PRIMARY KEY (`sequence`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
