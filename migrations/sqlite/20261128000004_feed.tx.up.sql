-- The changes feed in commit order: each publishing transaction takes the
-- next number from feed_head under its row lock, held until commit, so a
-- reader that has seen number k has seen every publication before it.
ALTER TABLE ratings ADD COLUMN feed_seq INTEGER;
--bun:split
UPDATE ratings SET feed_seq = 0 WHERE status = 'published';
--bun:split
CREATE INDEX ratings_feed_seq_idx ON ratings (feed_seq, id) WHERE status = 'published';
--bun:split
CREATE TABLE feed_head (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
--bun:split
INSERT INTO feed_head (id, seq) VALUES (1, 0);
