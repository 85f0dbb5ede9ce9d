DROP INDEX tokens_user_idx;
--bun:split
ALTER TABLE tokens DROP COLUMN expires_at;
