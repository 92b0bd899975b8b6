-- @herald/outbox-prisma 0002_error_history (MariaDB / MySQL): recent failures of a record, as
-- JSON lines ({"at": epoch ms, "error": "..."}), oldest first, capped at the last 16,000 chars.

ALTER TABLE `herald_outbox` ADD COLUMN `error_history` MEDIUMTEXT;
ALTER TABLE `herald_inbox` ADD COLUMN `error_history` MEDIUMTEXT;
