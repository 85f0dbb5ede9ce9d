-- pg_trgm stays installed: something else may use it, and the up
-- migration creates it only if it is missing.
DROP TRIGGER employers_public_update ON employers;
--bun:split
DROP FUNCTION laborcredit_public_ratings_employer();
--bun:split
DROP TRIGGER ratings_public_update ON ratings;
--bun:split
DROP TRIGGER ratings_public_insert ON ratings;
--bun:split
DROP FUNCTION laborcredit_public_ratings_sync();
--bun:split
DROP FUNCTION laborcredit_tail_gram_share(text);
--bun:split
DROP TABLE public_ratings;
--bun:split
DROP FUNCTION laborcredit_name_grams(text);
