DROP TABLE feed_head;
--bun:split
DROP INDEX ratings_feed_seq_idx;
--bun:split
ALTER TABLE ratings DROP COLUMN feed_seq;
