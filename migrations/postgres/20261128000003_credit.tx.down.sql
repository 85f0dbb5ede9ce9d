DROP TABLE credit_documents;
--bun:split
DROP INDEX users_token_idx;
--bun:split
DROP INDEX ratings_feed_idx;
--bun:split
DROP TABLE query_log;
