-- What the ingest formats need: reading metadata, tenant policies for unknown sensors, and the
-- SensorThings Datastreams that tell which sensor and quantity an Observation is about.

ALTER TABLE observations ADD COLUMN metadata jsonb;

CREATE TABLE tenants (
    name   text PRIMARY KEY,
    -- What to do with a reading from a sensor nobody registered: store it (registering the
    -- sensor on the fly) or refuse it into the dead letters until it is registered.
    policy text NOT NULL CHECK (policy IN ('auto_register', 'reject'))
);

CREATE TABLE datastreams (
    id          text PRIMARY KEY,
    tenant      text NOT NULL,
    sensor      text NOT NULL,
    quantity_id smallint NOT NULL REFERENCES quantities (id),
    unit        text
);
