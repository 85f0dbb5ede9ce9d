DROP TRIGGER ratings_published_immutable;
--bun:split
DROP TRIGGER ratings_decision_immutable;
--bun:split
DROP TRIGGER ratings_no_delete;
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
