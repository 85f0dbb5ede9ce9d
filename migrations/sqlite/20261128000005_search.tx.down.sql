DROP TRIGGER employers_public_update;
--bun:split
DROP TRIGGER ratings_public_update;
--bun:split
DROP TRIGGER ratings_public_insert;
--bun:split
DROP TABLE public_ratings;
