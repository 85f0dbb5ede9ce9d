-- The workflow: declarations, notifications to employers, and the rules
-- that keep a published rating as it was published.

CREATE TABLE declarations (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    employer_id  bigint NOT NULL REFERENCES employers (id),
    period       integer NOT NULL CHECK (period BETWEEN 1990 AND 2100),
    kind         text NOT NULL CHECK (kind IN ('annual', 'award')),
    payload      text NOT NULL CHECK ((payload::jsonb) IS NOT NULL),
    submitted_by text NOT NULL,
    submitted_at timestamptz NOT NULL,
    UNIQUE (employer_id, period, kind)
);
--bun:split

CREATE TABLE notifications (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    employer_id bigint NOT NULL REFERENCES employers (id),
    rating_id   bigint NOT NULL REFERENCES ratings (id),
    kind        text NOT NULL CHECK (kind IN ('publicized', 'published', 'corrected', 'objection_upheld')),
    body        text NOT NULL CHECK ((body::jsonb) IS NOT NULL),
    created_at  timestamptz NOT NULL,
    read_at     timestamptz
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

-- A rating's decision record never changes; a published rating changes
-- only by being superseded (current) by a correction. No rating is deleted.
CREATE FUNCTION laborcredit_rating_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ratings are never deleted' USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.employer_id <> OLD.employer_id OR NEW.period <> OLD.period OR NEW.version <> OLD.version
       OR NEW.rule_set_id <> OLD.rule_set_id OR NEW.rule_set_hash <> OLD.rule_set_hash
       OR NEW.engine_grade <> OLD.engine_grade OR NEW.result <> OLD.result OR NEW.facts <> OLD.facts
       OR NEW.computed_at <> OLD.computed_at THEN
        RAISE EXCEPTION 'a rating''s decision record is immutable' USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.status = 'published' AND (NEW.status <> OLD.status OR NEW.grade <> OLD.grade
       OR NEW.published_at IS DISTINCT FROM OLD.published_at OR NEW.reason IS DISTINCT FROM OLD.reason
       OR NEW.override_reason IS DISTINCT FROM OLD.override_reason OR (NEW.current AND NOT OLD.current)) THEN
        RAISE EXCEPTION 'a published rating is immutable; a correction is a new version' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
--bun:split
CREATE TRIGGER ratings_guard BEFORE UPDATE OR DELETE ON ratings
    FOR EACH ROW EXECUTE FUNCTION laborcredit_rating_guard();
