-- The workflow: declarations, notifications to employers, and the rules
-- that keep a published rating as it was published.

CREATE TABLE declarations (
    id           INTEGER PRIMARY KEY,
    employer_id  INTEGER NOT NULL REFERENCES employers (id),
    period       INTEGER NOT NULL CHECK (period BETWEEN 1990 AND 2100),
    kind         TEXT NOT NULL CHECK (kind IN ('annual', 'award')),
    payload      TEXT NOT NULL CHECK (json_valid(payload)),
    submitted_by TEXT NOT NULL,
    submitted_at TIMESTAMP NOT NULL,
    UNIQUE (employer_id, period, kind)
);
--bun:split

CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    employer_id INTEGER NOT NULL REFERENCES employers (id),
    rating_id   INTEGER NOT NULL REFERENCES ratings (id),
    kind        TEXT NOT NULL CHECK (kind IN ('publicized', 'published', 'corrected', 'objection_upheld')),
    body        TEXT NOT NULL CHECK (json_valid(body)),
    created_at  TIMESTAMP NOT NULL,
    read_at     TIMESTAMP
);
--bun:split
CREATE INDEX notifications_employer_idx ON notifications (employer_id, id);
--bun:split
CREATE INDEX ratings_published_idx ON ratings (employer_id, published_at) WHERE status = 'published';
--bun:split
CREATE INDEX ratings_publicity_idx ON ratings (publicity_ends) WHERE status = 'publicized';
--bun:split
CREATE INDEX objections_rating_idx ON objections (rating_id, status);
--bun:split

CREATE TRIGGER ratings_no_delete BEFORE DELETE ON ratings
BEGIN
    SELECT RAISE(ABORT, 'ratings are never deleted');
END;
--bun:split
CREATE TRIGGER ratings_decision_immutable BEFORE UPDATE ON ratings
WHEN NEW.employer_id <> OLD.employer_id OR NEW.period <> OLD.period OR NEW.version <> OLD.version
  OR NEW.rule_set_id <> OLD.rule_set_id OR NEW.rule_set_hash <> OLD.rule_set_hash
  OR NEW.engine_grade <> OLD.engine_grade OR NEW.result <> OLD.result OR NEW.facts <> OLD.facts
  OR NEW.computed_at <> OLD.computed_at
BEGIN
    SELECT RAISE(ABORT, 'a rating''s decision record is immutable');
END;
--bun:split
CREATE TRIGGER ratings_published_immutable BEFORE UPDATE ON ratings
WHEN OLD.status = 'published' AND (NEW.status <> OLD.status OR NEW.grade <> OLD.grade
  OR NEW.published_at IS NOT OLD.published_at OR NEW.reason IS NOT OLD.reason
  OR NEW.override_reason IS NOT OLD.override_reason OR (NEW.current AND NOT OLD.current))
BEGIN
    SELECT RAISE(ABORT, 'a published rating is immutable; a correction is a new version');
END;
