-- Core schema: quantities, sensors, observations, latest values, dead letters.
-- Observations become a TimescaleDB hypertable when the extension is preloaded on the server;
-- on plain PostgreSQL the same table stays a regular table with the same columns and keys.

CREATE TYPE quality_label AS ENUM ('raw', 'indicative', 'calibrated', 'validated', 'suspect');

CREATE TABLE quantities (
    id          smallint PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    unit        text NOT NULL,
    description text NOT NULL,
    minimum     double precision NOT NULL,
    maximum     double precision NOT NULL,
    kind        text NOT NULL
);

CREATE TABLE sensors (
    id       serial PRIMARY KEY,
    tenant   text NOT NULL,
    name     text NOT NULL,
    kind     text NOT NULL DEFAULT 'other',
    lon      double precision CHECK (lon BETWEEN -180 AND 180),
    lat      double precision CHECK (lat BETWEEN -90 AND 90),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant, name)
);

CREATE TABLE observations (
    sensor_id     integer NOT NULL REFERENCES sensors (id),
    quantity_id   smallint NOT NULL REFERENCES quantities (id),
    time          timestamptz NOT NULL,
    time_end      timestamptz,
    value         double precision NOT NULL,
    received      timestamptz NOT NULL,
    quality       quality_label NOT NULL DEFAULT 'raw',
    source_format text NOT NULL,
    -- Identity of a reading: storing it twice is a no-op (INSERT ... ON CONFLICT DO NOTHING).
    CONSTRAINT observations_identity UNIQUE (sensor_id, quantity_id, time),
    CHECK (time_end IS NULL OR time_end >= time)
);

DO $$
BEGIN
    IF current_setting('shared_preload_libraries', true) LIKE '%timescaledb%'
       AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
        PERFORM create_hypertable('observations', 'time',
                                  chunk_time_interval => INTERVAL '7 days',
                                  if_not_exists => TRUE);
    ELSE
        -- Plain PostgreSQL: readings arrive roughly in time order, so a BRIN index serves
        -- time-range scans at a fraction of a B-tree's size.
        CREATE INDEX observations_time_brin ON observations USING brin (time);
    END IF;
END
$$;

CREATE TABLE latest (
    sensor_id   integer NOT NULL REFERENCES sensors (id),
    quantity_id smallint NOT NULL REFERENCES quantities (id),
    time        timestamptz NOT NULL,
    time_end    timestamptz,
    value       double precision NOT NULL,
    received    timestamptz NOT NULL,
    quality     quality_label NOT NULL,
    PRIMARY KEY (sensor_id, quantity_id)
);

CREATE TABLE deadletters (
    id          bigserial PRIMARY KEY,
    received    timestamptz NOT NULL,
    topic       text NOT NULL,
    tenant      text,
    decoder     text NOT NULL,
    payload     bytea NOT NULL,
    reason_code text NOT NULL,
    reason      text NOT NULL,
    -- Every refusal in the message: [{"item": 3, "code": "out_of_range", "reason": "..."}].
    details     jsonb NOT NULL DEFAULT '[]'::jsonb
);
CREATE INDEX deadletters_received ON deadletters (received);
CREATE INDEX deadletters_reason ON deadletters (reason_code, received);
CREATE INDEX deadletters_tenant ON deadletters (tenant, received);
