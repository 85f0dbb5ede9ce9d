-- The public search (GET /api/v1/public/ratings): one row per current
-- published rating, with its employer's code, name and region, so a search
-- reads one table and pages through one index, without a join. The rows
-- are derived: the triggers below keep them in the transaction that
-- publishes, corrects (supersedes) or renames, whatever code path does it.
-- No foreign keys: the rows it copies are checked where they live, and a
-- key check would lock the employer row on every publication.
--
-- Text columns sort by code point (COLLATE "C"), as SQLite does, whatever
-- the database's locale, and a prefix LIKE ('武汉%') is a range of the name
-- index. A search for a part of a name (ratings/public.go, nameBranches)
-- is two searches in name order, merged: names that start with it (that
-- range), and names that contain it after their first character — 3 or
-- more characters with LIKE on substr(name, 2), which a pg_trgm index
-- serves; 1 or 2 characters, which trigrams cannot find (the usual length
-- of a trade name, 字号), if rare through tail_grams, every 1- and
-- 2-character substring of substr(name, 2), and if common by walking the
-- name indexes. Kept apart, names that start with a place (湖北…, 武汉…),
-- which lie together in name order, neither make the search walk past all
-- the names before them nor swell the index lookups of the rest. pg_trgm
-- takes CJK characters for word characters under a UTF-8 LC_CTYPE
-- (C.UTF-8, zh_CN.UTF-8), so their trigrams are indexed.

CREATE EXTENSION IF NOT EXISTS pg_trgm;
--bun:split

-- laborcredit_name_grams returns every substring of 1 and 2 characters of
-- name, in order (repeats included; the index keeps each once).
CREATE FUNCTION laborcredit_name_grams(name text) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    grams text[] := '{}';
    n integer := char_length(name);
BEGIN
    FOR i IN 1..n LOOP
        grams := grams || substr(name, i, 1);
        IF i < n THEN
            grams := grams || substr(name, i, 2);
        END IF;
    END LOOP;
    RETURN grams;
END;
$$;
--bun:split

CREATE TABLE public_ratings (
    employer_id  bigint NOT NULL,
    period       integer NOT NULL,
    rating_id    bigint NOT NULL,
    uscc         text COLLATE "C" NOT NULL,
    name         text COLLATE "C" NOT NULL,
    region       text COLLATE "C" NOT NULL,
    grade        text COLLATE "C" NOT NULL,
    published_at timestamptz,
    tail_grams   text[] NOT NULL GENERATED ALWAYS AS (laborcredit_name_grams(substr(name, 2))) STORED,
    PRIMARY KEY (employer_id, period)
);
--bun:split
INSERT INTO public_ratings (employer_id, period, rating_id, uscc, name, region, grade, published_at)
SELECT r.employer_id, r.period, r.id, e.uscc, e.name, e.region, r.grade, r.published_at
FROM ratings AS r JOIN employers AS e ON e.id = r.employer_id
WHERE r.status = 'published' AND r.current;
--bun:split

-- By code; then three orders of (name, uscc), each with every column a
-- page shows so that paging is an index-only scan whatever the filters:
-- all ratings, by grade (a rare grade pages without walking the others),
-- and by region (a county pages, and a city or county counts, on its own
-- range); the parts of names after their first character.
CREATE UNIQUE INDEX public_ratings_uscc_idx ON public_ratings (uscc, period);
--bun:split
CREATE INDEX public_ratings_name_idx ON public_ratings (period, name, uscc) INCLUDE (region, grade, published_at);
--bun:split
CREATE INDEX public_ratings_grade_idx ON public_ratings (period, grade, name, uscc) INCLUDE (region, published_at);
--bun:split
CREATE INDEX public_ratings_region_idx ON public_ratings (period, region, name, uscc) INCLUDE (grade, published_at);
--bun:split
CREATE INDEX public_ratings_tail_grams_idx ON public_ratings USING gin (tail_grams);
--bun:split
CREATE INDEX public_ratings_tail_trgm_idx ON public_ratings USING gin (substr(name, 2) gin_trgm_ops);
--bun:split
-- LIKE '%…%' on substr(name, 2) is estimated from the histogram ANALYZE
-- keeps for the index expression: a finer one tells common parts of names
-- (walk the name index) from rare ones (the trigram index) better.
ALTER INDEX public_ratings_tail_trgm_idx ALTER COLUMN 1 SET STATISTICS 1000;
--bun:split
ANALYZE public_ratings;
--bun:split

-- laborcredit_tail_gram_share estimates, from the planner's statistics,
-- the share of rows whose tail_grams contain gram (0 before the table is
-- first analyzed). The search walks the name indexes with LIKE for a
-- common part of 1 or 2 characters, and looks a rare one up in
-- public_ratings_tail_grams_idx: the planner cannot choose that itself,
-- as a walk testing tail_grams would read the table for every name it
-- passes. VOLATILE only because EXPLAIN is refused elsewhere.
CREATE FUNCTION laborcredit_tail_gram_share(gram text) RETURNS double precision LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    plan json;
    total real;
BEGIN
    SELECT reltuples INTO total FROM pg_class WHERE oid = 'public_ratings'::regclass;
    IF total IS NULL OR total <= 0 THEN
        RETURN 0;
    END IF;
    EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM public_ratings WHERE tail_grams @> $1' INTO plan USING ARRAY[gram];
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::double precision / total;
END;
$$;
--bun:split

-- A rating enters when it is published and current, and leaves when it
-- stops being either (a correction supersedes it).
CREATE FUNCTION laborcredit_public_ratings_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status = 'published' AND OLD.current THEN
        DELETE FROM public_ratings WHERE employer_id = OLD.employer_id AND period = OLD.period AND rating_id = OLD.id;
    END IF;
    IF NEW.status = 'published' AND NEW.current THEN
        INSERT INTO public_ratings (employer_id, period, rating_id, uscc, name, region, grade, published_at)
        SELECT NEW.employer_id, NEW.period, NEW.id, e.uscc, e.name, e.region, NEW.grade, NEW.published_at
        FROM employers AS e WHERE e.id = NEW.employer_id
        ON CONFLICT (employer_id, period) DO UPDATE SET rating_id = EXCLUDED.rating_id, uscc = EXCLUDED.uscc,
            name = EXCLUDED.name, region = EXCLUDED.region, grade = EXCLUDED.grade, published_at = EXCLUDED.published_at;
    END IF;
    RETURN NULL;
END;
$$;
--bun:split
CREATE TRIGGER ratings_public_insert AFTER INSERT ON ratings
    FOR EACH ROW WHEN (NEW.status = 'published' AND NEW.current)
    EXECUTE FUNCTION laborcredit_public_ratings_sync();
--bun:split
CREATE TRIGGER ratings_public_update AFTER UPDATE ON ratings
    FOR EACH ROW WHEN ((OLD.status = 'published' AND OLD.current) OR (NEW.status = 'published' AND NEW.current))
    EXECUTE FUNCTION laborcredit_public_ratings_sync();
--bun:split

-- An employer's new code, name or region shows in the search at once.
CREATE FUNCTION laborcredit_public_ratings_employer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE public_ratings SET uscc = NEW.uscc, name = NEW.name, region = NEW.region WHERE employer_id = NEW.id;
    RETURN NULL;
END;
$$;
--bun:split
CREATE TRIGGER employers_public_update AFTER UPDATE OF uscc, name, region ON employers
    FOR EACH ROW WHEN (OLD.uscc IS DISTINCT FROM NEW.uscc OR OLD.name IS DISTINCT FROM NEW.name OR OLD.region IS DISTINCT FROM NEW.region)
    EXECUTE FUNCTION laborcredit_public_ratings_employer();
