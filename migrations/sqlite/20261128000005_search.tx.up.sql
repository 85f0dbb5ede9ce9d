-- The public search (GET /api/v1/public/ratings): one row per current
-- published rating, with its employer's code, name and region, so a search
-- reads one table and pages through one index, without a join. The rows
-- are derived: the triggers below keep them in the transaction that
-- publishes, corrects (supersedes) or renames, whatever code path does it.
-- A part of a name is found with instr() here (PostgreSQL indexes it);
-- text compares byte by byte (BINARY), i.e. by code point, as PostgreSQL's
-- COLLATE "C" columns do, so both list in the same order.

CREATE TABLE public_ratings (
    employer_id  INTEGER NOT NULL,
    period       INTEGER NOT NULL,
    rating_id    INTEGER NOT NULL,
    uscc         TEXT NOT NULL,
    name         TEXT NOT NULL,
    region       TEXT NOT NULL,
    grade        TEXT NOT NULL,
    published_at TIMESTAMP,
    PRIMARY KEY (employer_id, period)
);
--bun:split
INSERT INTO public_ratings (employer_id, period, rating_id, uscc, name, region, grade, published_at)
SELECT r.employer_id, r.period, r.id, e.uscc, e.name, e.region, r.grade, r.published_at
FROM ratings AS r JOIN employers AS e ON e.id = r.employer_id
WHERE r.status = 'published' AND r.current;
--bun:split

-- By code; then three orders of (name, uscc), each with every column a
-- page shows: all ratings, by grade, and by region.
CREATE UNIQUE INDEX public_ratings_uscc_idx ON public_ratings (uscc, period);
--bun:split
CREATE INDEX public_ratings_name_idx ON public_ratings (period, name, uscc, region, grade, published_at);
--bun:split
CREATE INDEX public_ratings_grade_idx ON public_ratings (period, grade, name, uscc, region, published_at);
--bun:split
CREATE INDEX public_ratings_region_idx ON public_ratings (period, region, name, uscc, grade, published_at);
--bun:split

-- A rating enters when it is published and current, and leaves when it
-- stops being either (a correction supersedes it).
CREATE TRIGGER ratings_public_insert AFTER INSERT ON ratings
WHEN NEW.status = 'published' AND NEW.current
BEGIN
    INSERT OR REPLACE INTO public_ratings (employer_id, period, rating_id, uscc, name, region, grade, published_at)
    SELECT NEW.employer_id, NEW.period, NEW.id, e.uscc, e.name, e.region, NEW.grade, NEW.published_at
    FROM employers AS e WHERE e.id = NEW.employer_id;
END;
--bun:split
CREATE TRIGGER ratings_public_update AFTER UPDATE ON ratings
WHEN (OLD.status = 'published' AND OLD.current) OR (NEW.status = 'published' AND NEW.current)
BEGIN
    DELETE FROM public_ratings WHERE employer_id = OLD.employer_id AND period = OLD.period AND rating_id = OLD.id;
    INSERT OR REPLACE INTO public_ratings (employer_id, period, rating_id, uscc, name, region, grade, published_at)
    SELECT NEW.employer_id, NEW.period, NEW.id, e.uscc, e.name, e.region, NEW.grade, NEW.published_at
    FROM employers AS e WHERE e.id = NEW.employer_id AND NEW.status = 'published' AND NEW.current;
END;
--bun:split

-- An employer's new code, name or region shows in the search at once.
CREATE TRIGGER employers_public_update AFTER UPDATE OF uscc, name, region ON employers
BEGIN
    UPDATE public_ratings SET uscc = NEW.uscc, name = NEW.name, region = NEW.region WHERE employer_id = NEW.id;
END;
