-- An objection names a way to reach the objector and the client address it
-- came from; an employer's own objection (filed with its account) is
-- marked. Inadmissible is a fourth outcome. One open objection per
-- contact and per address on a rating; daily filings per address are
-- counted in objection_quota (see ratings/objections.go for the limits).
ALTER TABLE objections ADD COLUMN contact text NOT NULL DEFAULT '';
--bun:split
ALTER TABLE objections ADD COLUMN address text NOT NULL DEFAULT '';
--bun:split
ALTER TABLE objections ADD COLUMN by_employer boolean NOT NULL DEFAULT false;
--bun:split
ALTER TABLE objections DROP CONSTRAINT objections_status_check;
--bun:split
ALTER TABLE objections ADD CONSTRAINT objections_status_check CHECK (status IN ('open', 'upheld', 'rejected', 'inadmissible'));
--bun:split
CREATE UNIQUE INDEX objections_open_contact_idx ON objections (rating_id, contact) WHERE status = 'open' AND contact <> '';
--bun:split
CREATE UNIQUE INDEX objections_open_address_idx ON objections (rating_id, address) WHERE status = 'open' AND address <> '' AND NOT by_employer;
--bun:split
CREATE TABLE objection_quota (
    address text NOT NULL CHECK (address <> ''),
    day     date NOT NULL,
    filed   integer NOT NULL CHECK (filed >= 0),
    PRIMARY KEY (address, day)
);
