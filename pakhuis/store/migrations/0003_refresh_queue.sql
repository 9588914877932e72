-- Late writes (older than what a continuous aggregate has materialized) are queued here in the
-- writing transaction and refreshed in merged ranges by a periodic job, instead of one refresh
-- per batch: a backfill of a million readings becomes a few refreshes, and nothing is missed
-- because the queue is durable. Unused on plain PostgreSQL (the stream keeps tables current).
CREATE TABLE rollup_refresh_queue (
    id     bigserial PRIMARY KEY,
    view   text NOT NULL,
    start  timestamptz NOT NULL,
    finish timestamptz NOT NULL,
    queued timestamptz NOT NULL DEFAULT now()
);
