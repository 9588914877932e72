"""Rollup maintenance for plain PostgreSQL, and refresh for TimescaleDB continuous aggregates.

On plain PostgreSQL the hourly and daily tables are recomputed, for exactly the buckets a batch
touched, from the observations themselves: recomputing (rather than adding to running sums)
keeps them right when a batch is redelivered or holds duplicates.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg

# Buckets touched by the batch in staging_readings, keyed like the rollup tables.
_TOUCHED = """
SELECT DISTINCT s.id AS sensor_id, r.quantity_id, {bucket} AS bucket
FROM staging_readings r JOIN sensors s ON s.tenant = r.tenant AND s.name = r.sensor
"""

_RECOMPUTE = """
INSERT INTO {table} AS t (sensor_id, quantity_id, bucket, mean, min, max, count)
SELECT o.sensor_id, o.quantity_id, b.bucket, avg(o.value), min(o.value), max(o.value), count(*)
FROM ({touched}) b
JOIN observations o ON o.sensor_id = b.sensor_id AND o.quantity_id = b.quantity_id
                   AND o.time >= b.bucket AND o.time < {bucket_end}
GROUP BY o.sensor_id, o.quantity_id, b.bucket
ON CONFLICT (sensor_id, quantity_id, bucket) DO UPDATE
SET mean = EXCLUDED.mean, min = EXCLUDED.min, max = EXCLUDED.max, count = EXCLUDED.count
"""

HOURLY_BUCKET = "date_bin(INTERVAL '1 hour', {col}, TIMESTAMPTZ '2000-01-01 00:00+00')"
# Local midnight in the reporting zone, as an instant (23 or 25 hours long across DST).
DAILY_BUCKET = "(date_trunc('day', {col} AT TIME ZONE %(tz)s) AT TIME ZONE %(tz)s)"
DAILY_BUCKET_END = "((date_trunc('day', {col} AT TIME ZONE %(tz)s) + INTERVAL '1 day') AT TIME ZONE %(tz)s)"


def recompute_touched(cur: psycopg.Cursor[Any], timezone: str) -> None:
    hourly = HOURLY_BUCKET.format(col="r.time")
    cur.execute(
        _RECOMPUTE.format(
            table="observations_hourly",
            touched=_TOUCHED.format(bucket=hourly),
            bucket_end="b.bucket + INTERVAL '1 hour'",
        )
    )
    daily = DAILY_BUCKET.format(col="r.time")
    cur.execute(
        _RECOMPUTE.format(
            table="observations_daily",
            touched=_TOUCHED.format(bucket=daily),
            bucket_end="((b.bucket AT TIME ZONE %(tz)s + INTERVAL '1 day') AT TIME ZONE %(tz)s)",
        ),
        {"tz": timezone},
    )


# Continuous-aggregate policies only look back this far; older writes (a backfill, a sensor
# that was offline for days) are refreshed explicitly after the batch commits.
POLICY_LOOKBACK = {"observations_hourly": timedelta(days=3), "observations_daily": timedelta(days=7)}


def refresh_continuous_aggregates(
    conn: psycopg.Connection[Any], oldest: datetime, newest: datetime, now: datetime
) -> None:
    for view, lookback in POLICY_LOOKBACK.items():
        if oldest < now - lookback:
            # CALL cannot run inside a transaction: the connection is in autocommit here.
            conn.execute(
                "CALL refresh_continuous_aggregate(%s, %s::timestamptz - INTERVAL '1 day', "
                "%s::timestamptz + INTERVAL '1 day')",
                (view, oldest, min(newest, now - lookback)),
            )
