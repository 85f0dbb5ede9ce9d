DROP TABLE audit_head;
--bun:split
DROP TABLE audit_log;
--bun:split
DROP TABLE api_clients;
--bun:split
DROP TABLE tokens;
--bun:split
DROP TABLE users;
--bun:split
DROP TABLE award_nominations;
--bun:split
DROP TABLE objections;
--bun:split
DROP TABLE rating_runs;
--bun:split
DROP TABLE ratings;
--bun:split
DROP TABLE periods;
--bun:split
DROP TABLE rule_sets;
--bun:split
DROP TABLE blacklist_entries;
--bun:split
DROP TABLE wage_deposits;
--bun:split
DROP TABLE complaints;
--bun:split
DROP TABLE case_violations;
--bun:split
DROP TABLE cases;
--bun:split
DROP TABLE annual_reviews;
--bun:split
DROP TABLE legacy_codes;
--bun:split
DROP TABLE employers;
--bun:split
DROP FUNCTION laborcredit_immutable();
