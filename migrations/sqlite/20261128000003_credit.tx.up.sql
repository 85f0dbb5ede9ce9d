-- Credit sharing: the log of every query by banks and bureaus.

CREATE TABLE query_log (
    id        INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES api_clients (id),
    at        TIMESTAMP NOT NULL,
    endpoint  TEXT NOT NULL,
    codes     TEXT NOT NULL,
    result    TEXT NOT NULL
);
--bun:split
CREATE INDEX query_log_client_idx ON query_log (client_id, at);
--bun:split
CREATE INDEX ratings_feed_idx ON ratings (published_at, id) WHERE status = 'published';
--bun:split
CREATE INDEX users_token_idx ON tokens (token_hash) WHERE revoked_at IS NULL;
--bun:split

-- What credit sharing serves, one document per employer: its latest
-- published rating with reasons, awards and history. Rebuilt in the
-- transaction that publishes, corrects or awards, so a query is one
-- primary-key read.
CREATE TABLE credit_documents (
    uscc        TEXT PRIMARY KEY REFERENCES employers (uscc),
    employer_id INTEGER NOT NULL UNIQUE REFERENCES employers (id),
    doc         TEXT NOT NULL CHECK (json_valid(doc)),
    updated_at  TIMESTAMP NOT NULL
);
