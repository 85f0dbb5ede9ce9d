-- User tokens expire. A token made before this migration has no
-- expires_at: it expires ratings.DefaultTokenTTL after its created_at.
ALTER TABLE tokens ADD COLUMN expires_at TIMESTAMP;
--bun:split
CREATE INDEX tokens_user_idx ON tokens (user_id);
