-- Tenant kinds (issue 14 part 4): a citizen measurement `group`, whose sensors are personal
-- (public answers show pseudonyms and coarsened places), or the `city`'s own sensors, public as
-- they are. NULL: not declared; the deployment's PAKHUIS_DEFAULT_TENANT_KIND applies.
ALTER TABLE tenants ADD COLUMN kind text CHECK (kind IN ('group', 'city'));
-- A tenant may now be declared for its kind alone: its policy then follows the deployment's
-- PAKHUIS_UNKNOWN_SENSOR_POLICY, like a tenant that was never named.
ALTER TABLE tenants ALTER COLUMN policy DROP NOT NULL;
