-- Drain-cleaning plan: zones, cleanings (work orders), the fill-rate model and its per-drain
-- state, and stored truck-route plans.

CREATE TABLE zones (
    id        bigserial PRIMARY KEY,
    kind      text NOT NULL CHECK (kind IN ('shopping', 'bus_stop', 'main_road', 'school', 'construction')),
    name      text,
    source    text NOT NULL,
    buffer_m  double precision NOT NULL DEFAULT 0,
    -- The zone as a WGS84 GeoJSON (multi)polygon (points and lines already buffered).
    geometry  jsonb NOT NULL,
    loaded    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX zones_kind ON zones (kind);

-- Work orders and other recorded cleanings. A drain is named by its key in the register
-- (the city's own id, else pakhuis' id), not by a foreign key: reloading the drain register
-- must not lose the cleaning history.
CREATE TABLE cleanings (
    id        bigserial PRIMARY KEY,
    drain_key text NOT NULL,
    time      timestamptz NOT NULL,
    method    text NOT NULL CHECK (method IN ('suction', 'sweep', 'both')),
    sludge_m3 double precision CHECK (sludge_m3 >= 0),
    source    text NOT NULL DEFAULT 'api',
    recorded  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (drain_key, time)
);
CREATE INDEX cleanings_time ON cleanings (time);

CREATE TABLE fill_models (
    version     text PRIMARY KEY,
    created     timestamptz NOT NULL DEFAULT now(),
    -- estimator, features, training size, cross-validated error, parameters
    description jsonb NOT NULL,
    -- monthly factors {"trees": [12], "open": [12]}
    seasonal    jsonb NOT NULL
);

-- Each drain's fill state as of the last refit: its own (sensor) rate where measured, the
-- model's prediction, and the combined rate the schedule uses.
CREATE TABLE drain_fill_state (
    drain_id        bigint PRIMARY KEY REFERENCES drains (id) ON DELETE CASCADE,
    model_version   text REFERENCES fill_models (version) ON DELETE SET NULL,
    sensor          text,
    status          text NOT NULL,
    n_readings      integer NOT NULL DEFAULT 0,
    n_since_cleaning integer NOT NULL DEFAULT 0,
    measured_rate   double precision,
    measured_se     double precision,
    predicted_rate  double precision,
    predicted_sd    double precision,
    rate            double precision NOT NULL CHECK (rate >= 0),
    rate_sd         double precision,
    rate_source     text NOT NULL CHECK (rate_source IN ('sensor', 'model', 'sensor+model')),
    last_cleaning   timestamptz,
    last_cleaning_source text,
    fill_time       timestamptz,
    fill_value      double precision,
    computed        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE route_plans (
    plan_date  date PRIMARY KEY,
    created    timestamptz NOT NULL DEFAULT now(),
    parameters jsonb NOT NULL,
    summary    jsonb NOT NULL,
    geojson    jsonb NOT NULL,
    csv        text NOT NULL,
    gpx        text NOT NULL
);
