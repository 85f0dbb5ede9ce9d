-- An objection names a way to reach the objector and the client address it
-- came from; an employer's own objection (filed with its account) is
-- marked. Inadmissible is a fourth outcome. One open objection per
-- contact and per address on a rating; daily filings per address are
-- counted in objection_quota (see ratings/objections.go for the limits).
-- SQLite cannot change a CHECK in place: the table is rebuilt.
CREATE TABLE objections_new (
    id             INTEGER PRIMARY KEY,
    rating_id      INTEGER NOT NULL REFERENCES ratings (id),
    filed_by       TEXT NOT NULL CHECK (filed_by <> ''),
    filed_at       TIMESTAMP NOT NULL,
    reason         TEXT NOT NULL CHECK (reason <> ''),
    evidence       TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL CHECK (status IN ('open', 'upheld', 'rejected', 'inadmissible')),
    decided_by     TEXT,
    decided_at     TIMESTAMP,
    decision       TEXT,
    contact        TEXT NOT NULL DEFAULT '',
    address        TEXT NOT NULL DEFAULT '',
    by_employer    BOOLEAN NOT NULL DEFAULT 0,
    CHECK ((status = 'open') = (decided_at IS NULL))
);
--bun:split
INSERT INTO objections_new (id, rating_id, filed_by, filed_at, reason, evidence, status, decided_by, decided_at, decision)
SELECT id, rating_id, filed_by, filed_at, reason, evidence, status, decided_by, decided_at, decision FROM objections;
--bun:split
DROP TABLE objections;
--bun:split
ALTER TABLE objections_new RENAME TO objections;
--bun:split
CREATE INDEX objections_rating_idx ON objections (rating_id, status);
--bun:split
CREATE UNIQUE INDEX objections_open_contact_idx ON objections (rating_id, contact) WHERE status = 'open' AND contact <> '';
--bun:split
CREATE UNIQUE INDEX objections_open_address_idx ON objections (rating_id, address) WHERE status = 'open' AND address <> '' AND NOT by_employer;
--bun:split
CREATE TABLE objection_quota (
    address TEXT NOT NULL CHECK (address <> ''),
    day     TEXT NOT NULL CHECK (day = date(day)),
    filed   INTEGER NOT NULL CHECK (filed >= 0),
    PRIMARY KEY (address, day)
);
