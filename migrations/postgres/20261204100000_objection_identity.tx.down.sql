DROP TABLE objection_quota;
--bun:split
DROP INDEX objections_open_address_idx;
--bun:split
DROP INDEX objections_open_contact_idx;
--bun:split
UPDATE objections SET status = 'rejected' WHERE status = 'inadmissible';
--bun:split
ALTER TABLE objections DROP CONSTRAINT objections_status_check;
--bun:split
ALTER TABLE objections ADD CONSTRAINT objections_status_check CHECK (status IN ('open', 'upheld', 'rejected'));
--bun:split
ALTER TABLE objections DROP COLUMN by_employer;
--bun:split
ALTER TABLE objections DROP COLUMN address;
--bun:split
ALTER TABLE objections DROP COLUMN contact;
