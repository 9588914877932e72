-- Bounded dead letters (issue 11, part 5): a payload is kept up to a cap
-- (PAKHUIS_DEADLETTER_MAX_PAYLOAD_BYTES, its first bytes), with the size it had on arrival, and
-- listings page by id. NULL payload_size: the payload is whole (rows from before this migration).
ALTER TABLE deadletters ADD COLUMN payload_size bigint;
ALTER TABLE deadletters ADD COLUMN payload_truncated boolean NOT NULL DEFAULT false;
-- Keyset pages of one tenant's dead letters, newest first.
CREATE INDEX deadletters_tenant_id ON deadletters (tenant, id);
