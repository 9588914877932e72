-- API keys (issue 14 part 1): `pk_<id>_<secret>`, of which only the SHA-256 of the secret is
-- kept (the secret is 32 random bytes: a fast hash is enough, nothing to guess). A group key
-- belongs to one tenant; the other roles see every tenant. Revoked keys stay listed.
CREATE TABLE api_keys (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    role text NOT NULL CHECK (role IN ('group', 'planner', 'operator', 'admin')),
    tenant text,
    name text NOT NULL DEFAULT '',
    secret_sha256 bytea NOT NULL CHECK (octet_length(secret_sha256) = 32),
    created timestamptz NOT NULL DEFAULT now(),
    last_used timestamptz,
    revoked timestamptz,
    CHECK ((role = 'group') = (tenant IS NOT NULL))
);
