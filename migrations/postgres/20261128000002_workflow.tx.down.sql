DROP TRIGGER ratings_guard ON ratings;
--bun:split
DROP FUNCTION laborcredit_rating_guard();
--bun:split
DROP INDEX objections_rating_idx;
--bun:split
DROP INDEX ratings_publicity_idx;
--bun:split
DROP INDEX ratings_published_idx;
--bun:split
DROP TABLE notifications;
--bun:split
DROP TABLE declarations;
