-- The city's registers (drains, trees) and the spatial indicators computed from them.
-- A register is replaced as a whole, atomically, when it is loaded again.

CREATE TABLE drains (
    id         bigserial PRIMARY KEY,
    source_id  text,
    lon        double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    lat        double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    attributes jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE TABLE trees (
    id         bigserial PRIMARY KEY,
    source_id  text,
    lon        double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    lat        double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    species    text,
    genus      text,
    leaf_class text NOT NULL DEFAULT 'unknown' CHECK (leaf_class IN ('large', 'small', 'needle', 'unknown'))
);

CREATE TABLE register_loads (
    register text PRIMARY KEY CHECK (register IN ('drains', 'trees')),
    source   text NOT NULL,
    rows     integer NOT NULL,
    rejected integer NOT NULL,
    loaded   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE drain_indicators (
    drain_id              bigint PRIMARY KEY REFERENCES drains (id) ON DELETE CASCADE,
    nearest_tree_m        double precision,
    nearest_tree_id       bigint,
    nearest_leaf_class    text,
    trees_within_4m       integer NOT NULL,
    trees_within_10m      integer NOT NULL,
    large_leaf_within_10m integer NOT NULL,
    leaf_load             double precision NOT NULL,
    computed              timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cell_indicators (
    cell_size              double precision NOT NULL,
    cell_x                 integer NOT NULL,
    cell_y                 integer NOT NULL,
    crs                    text NOT NULL,
    -- The cell as a WGS84 GeoJSON polygon, and its bounding box for bbox queries.
    geometry               jsonb NOT NULL,
    min_lon                double precision NOT NULL,
    min_lat                double precision NOT NULL,
    max_lon                double precision NOT NULL,
    max_lat                double precision NOT NULL,
    drain_count            integer NOT NULL,
    tree_count             integer NOT NULL,
    mean_leaf_load         double precision,
    share_drains_within_4m double precision,
    computed               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cell_size, cell_x, cell_y)
);
CREATE INDEX cell_indicators_bbox ON cell_indicators (cell_size, min_lon, max_lon, min_lat, max_lat);
