-- Rollups (hourly, daily), alerts, and what staleness needs to know about each sensor.
--
-- With TimescaleDB (and its "timescale" licence, which continuous aggregates, compression and
-- policies need) the rollups are continuous aggregates with real-time aggregation, refresh
-- policies, compression of raw chunks after 30 days and retention of raw observations for
-- 400 days (13 months + margin, so annual means can be computed). Otherwise they are plain
-- tables with the same columns that the stream keeps up to date (see Store.write_batch).
-- Daily buckets start at local midnight in the reporting time zone, recorded below.

ALTER TABLE sensors
    ADD COLUMN last_time timestamptz,
    ADD COLUMN last_received timestamptz,
    -- Learned from the data (moving average of the gaps between readings).
    ADD COLUMN typical_interval_s double precision,
    -- Set by an operator; wins over the learned interval.
    ADD COLUMN expected_interval_s double precision;

CREATE TABLE rollup_settings (
    only_row           boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    reporting_timezone text NOT NULL,
    materialized       text NOT NULL CHECK (materialized IN ('continuous_aggregate', 'table'))
);

DO $$
DECLARE
    tz text := coalesce(nullif(current_setting('pakhuis.reporting_timezone', true), ''), 'Europe/Amsterdam');
    timescale boolean := EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
                         AND coalesce(current_setting('timescaledb.license', true), '') = 'timescale';
BEGIN
    IF timescale THEN
        EXECUTE $sql$
            CREATE MATERIALIZED VIEW observations_hourly
            WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
            SELECT sensor_id, quantity_id, time_bucket(INTERVAL '1 hour', time) AS bucket,
                   avg(value) AS mean, min(value) AS min, max(value) AS max, count(*) AS count
            FROM observations
            GROUP BY sensor_id, quantity_id, bucket
            WITH NO DATA $sql$;
        EXECUTE format($sql$
            CREATE MATERIALIZED VIEW observations_daily
            WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
            SELECT sensor_id, quantity_id, time_bucket(INTERVAL '1 day', time, %L) AS bucket,
                   avg(value) AS mean, min(value) AS min, max(value) AS max, count(*) AS count
            FROM observations
            GROUP BY sensor_id, quantity_id, bucket
            WITH NO DATA $sql$, tz);
        PERFORM add_continuous_aggregate_policy('observations_hourly',
            start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour',
            schedule_interval => INTERVAL '15 minutes');
        PERFORM add_continuous_aggregate_policy('observations_daily',
            start_offset => INTERVAL '7 days', end_offset => INTERVAL '1 day',
            schedule_interval => INTERVAL '1 hour');
        ALTER TABLE observations SET (
            timescaledb.compress,
            timescaledb.compress_segmentby = 'sensor_id, quantity_id',
            timescaledb.compress_orderby = 'time DESC');
        PERFORM add_compression_policy('observations', INTERVAL '30 days');
        PERFORM add_retention_policy('observations', INTERVAL '400 days');
        INSERT INTO rollup_settings VALUES (true, tz, 'continuous_aggregate');
    ELSE
        CREATE TABLE observations_hourly (
            sensor_id   integer NOT NULL REFERENCES sensors (id),
            quantity_id smallint NOT NULL REFERENCES quantities (id),
            bucket      timestamptz NOT NULL,
            mean        double precision NOT NULL,
            min         double precision NOT NULL,
            max         double precision NOT NULL,
            count       bigint NOT NULL,
            PRIMARY KEY (sensor_id, quantity_id, bucket)
        );
        CREATE TABLE observations_daily (LIKE observations_hourly INCLUDING ALL);
        ALTER TABLE observations_daily
            ADD FOREIGN KEY (sensor_id) REFERENCES sensors (id),
            ADD FOREIGN KEY (quantity_id) REFERENCES quantities (id);
        INSERT INTO rollup_settings VALUES (true, tz, 'table');
    END IF;
END
$$;

CREATE TABLE alerts (
    id          bigserial PRIMARY KEY,
    sensor_id   integer NOT NULL REFERENCES sensors (id),
    quantity_id smallint REFERENCES quantities (id),   -- NULL for "stale"
    rule        text NOT NULL CHECK (rule IN ('above', 'hourly_mean_above', 'stale')),
    threshold   double precision,
    value       double precision,
    opened      timestamptz NOT NULL,
    closed      timestamptz,
    message     text NOT NULL
);
-- At most one open alert per sensor, quantity and rule: a drain that stays full is one alert.
CREATE UNIQUE INDEX alerts_one_open ON alerts (sensor_id, coalesce(quantity_id, 0), rule)
    WHERE closed IS NULL;
-- The same crossing processed twice (a redelivered batch) is still one alert.
CREATE UNIQUE INDEX alerts_identity ON alerts (sensor_id, coalesce(quantity_id, 0), rule, opened);
CREATE INDEX alerts_recent ON alerts (opened DESC);
