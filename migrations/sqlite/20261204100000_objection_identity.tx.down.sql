DROP TABLE objection_quota;
--bun:split
CREATE TABLE objections_old (
    id             INTEGER PRIMARY KEY,
    rating_id      INTEGER NOT NULL REFERENCES ratings (id),
    filed_by       TEXT NOT NULL CHECK (filed_by <> ''),
    filed_at       TIMESTAMP NOT NULL,
    reason         TEXT NOT NULL CHECK (reason <> ''),
    evidence       TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL CHECK (status IN ('open', 'upheld', 'rejected')),
    decided_by     TEXT,
    decided_at     TIMESTAMP,
    decision       TEXT,
    CHECK ((status = 'open') = (decided_at IS NULL))
);
--bun:split
INSERT INTO objections_old (id, rating_id, filed_by, filed_at, reason, evidence, status, decided_by, decided_at, decision)
SELECT id, rating_id, filed_by, filed_at, reason, evidence, CASE status WHEN 'inadmissible' THEN 'rejected' ELSE status END,
       decided_by, decided_at, decision FROM objections;
--bun:split
DROP TABLE objections;
--bun:split
ALTER TABLE objections_old RENAME TO objections;
--bun:split
CREATE INDEX objections_rating_idx ON objections (rating_id, status);
