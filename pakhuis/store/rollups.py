"""SQL for the hourly and daily rollups: reads, upkeep on plain PostgreSQL, TimescaleDB refresh.

On plain PostgreSQL the hourly and daily tables are recomputed, for exactly the buckets a batch
touched, from the observations themselves: recomputing (rather than adding to running sums)
keeps them right when a batch is redelivered or holds duplicates.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Literal

import psycopg

from pakhuis.quantities import Quantity
from pakhuis.store.connection import Connected
from pakhuis.store.rows import RowTable, fetch_table

log = logging.getLogger(__name__)

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

_DAILY_FROM_HOURLY = """
INSERT INTO observations_daily AS t (sensor_id, quantity_id, bucket, mean, min, max, count)
SELECT h.sensor_id, h.quantity_id, b.bucket,
       sum(h.mean * h.count) / sum(h.count), min(h.min), max(h.max), sum(h.count)
FROM ({touched}) b
JOIN observations_hourly h ON h.sensor_id = b.sensor_id AND h.quantity_id = b.quantity_id
                          AND h.bucket >= b.bucket
                          AND h.bucket < ((b.bucket AT TIME ZONE %(tz)s + INTERVAL '1 day')
                                          AT TIME ZONE %(tz)s)
GROUP BY h.sensor_id, h.quantity_id, b.bucket
ON CONFLICT (sensor_id, quantity_id, bucket) DO UPDATE
SET mean = EXCLUDED.mean, min = EXCLUDED.min, max = EXCLUDED.max, count = EXCLUDED.count
"""

HOURLY_BUCKET = "date_bin(INTERVAL '1 hour', {col}, TIMESTAMPTZ '2000-01-01 00:00+00')"
# Local midnight in the reporting zone, as an instant (23 or 25 hours long across DST).
DAILY_BUCKET = "(date_trunc('day', {col} AT TIME ZONE %(tz)s) AT TIME ZONE %(tz)s)"
DAILY_BUCKET_END = "((date_trunc('day', {col} AT TIME ZONE %(tz)s) + INTERVAL '1 day') AT TIME ZONE %(tz)s)"

_HOUR_SECONDS = "3600.0"
_DAY_SECONDS = (
    "extract(epoch FROM ((r.bucket AT TIME ZONE %(tz)s + INTERVAL '1 day') AT TIME ZONE %(tz)s) - r.bucket)"
)

_ROLLUP = """
SELECT s.tenant, s.name AS sensor, q.name AS quantity, q.unit, r.bucket AS time,
       r.mean, r.min, r.max, r.count,
       -- least() skips NULLs: an unknown interval must stay unknown.
       CASE WHEN i.interval_s IS NULL THEN NULL
            ELSE least(1.0, r.count * i.interval_s / {bucket_seconds}) END AS coverage
FROM {table} r
JOIN sensors s ON s.id = r.sensor_id
CROSS JOIN LATERAL (SELECT coalesce(s.expected_interval_s, s.typical_interval_s) AS interval_s) i
JOIN quantities q ON q.id = r.quantity_id
WHERE (%(tenant)s::text IS NULL OR s.tenant = %(tenant)s)
  AND (%(sensor)s::text IS NULL OR s.name = %(sensor)s)
  AND (%(quantity)s::text IS NULL OR q.name = %(quantity)s)
  AND (%(start)s::timestamptz IS NULL OR r.bucket >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR r.bucket < %(end)s)
ORDER BY r.bucket, s.tenant, s.name, q.id
LIMIT %(limit)s
"""


def recompute_touched(cur: psycopg.Cursor[Any], timezone: str) -> None:
    hourly = HOURLY_BUCKET.format(col="r.time")
    cur.execute(
        _RECOMPUTE.format(
            table="observations_hourly",
            touched=_TOUCHED.format(bucket=hourly),
            bucket_end="b.bucket + INTERVAL '1 hour'",
        )
    )
    # Days are combined from the (just updated) hours rather than rescanned: a day of a 1 Hz
    # sensor is 86,400 rows, its hours 24. Needs a reporting zone with whole-hour offsets.
    cur.execute(
        _DAILY_FROM_HOURLY.format(touched=_TOUCHED.format(bucket=DAILY_BUCKET.format(col="r.time"))),
        {"tz": timezone},
    )


# Real-time aggregation covers only what the continuous aggregate has not materialized yet
# (newer than about its end offset). A write older than that — a late reading, a backfill —
# is queued (in the writing transaction) and refreshed by `refresh_queued`, which merges the
# queued ranges. The window gets a margin of two buckets each side so it always spans whole
# buckets (a 25-hour DST day included).
REFRESH = {
    "observations_hourly": (timedelta(hours=1), timedelta(hours=2)),
    "observations_daily": (timedelta(days=1), timedelta(days=2)),
}


def queue_late_refresh(cur: psycopg.Cursor[Any], oldest: datetime, newest: datetime, now: datetime) -> None:
    for view, (end_offset, margin) in REFRESH.items():
        if oldest < now - end_offset:
            cur.execute(
                "INSERT INTO rollup_refresh_queue (view, start, finish) VALUES (%s, %s, %s)",
                (view, oldest - margin, min(newest + margin, now)),
            )


def refresh_queued(conn: psycopg.Connection[Any]) -> int:
    """Refresh the queued ranges, merged per view; returns how many refreshes ran."""
    done = 0
    for view in REFRESH:
        rows = conn.execute(
            "SELECT id, start, finish FROM rollup_refresh_queue WHERE view = %s ORDER BY start", (view,)
        ).fetchall()
        if not rows:
            continue
        merged: list[list[datetime]] = []
        for _, start, finish in rows:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], finish)
            else:
                merged.append([start, finish])
        for start, finish in merged:
            # CALL cannot run inside a transaction: the connection is in autocommit here.
            conn.execute("CALL refresh_continuous_aggregate(%s, %s, %s)", (view, start, finish))
            done += 1
        conn.execute("DELETE FROM rollup_refresh_queue WHERE id = ANY(%s)", ([r[0] for r in rows],))
    return done


def rollup_query(
    bucket: Literal["1h", "1d"],
    timezone: str,
    *,
    tenant: str | None = None,
    sensor: str | None = None,
    quantity: Quantity | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 1000,
) -> tuple[str, dict[str, Any]]:
    """The SQL and parameters of `RollupQueries.rollup` (the API benchmark runs them alone)."""
    sql = _ROLLUP.format(
        table="observations_hourly" if bucket == "1h" else "observations_daily",
        bucket_seconds=_HOUR_SECONDS if bucket == "1h" else _DAY_SECONDS,
    )
    params = {
        "tenant": tenant,
        "sensor": sensor,
        "quantity": quantity.value if quantity else None,
        "start": start,
        "end": end,
        "limit": limit,
        "tz": timezone,
    }
    return sql, params


class RollupQueries(Connected):
    def refresh_rollups(self) -> int:
        """Bring continuous aggregates up to date with queued late writes (no-op on plain
        PostgreSQL, whose rollup tables are kept current by every write). Run periodically."""
        if self.rollup_mode()[0] == "table":
            return 0
        with self._connection() as conn:
            return refresh_queued(conn)

    def rollup(
        self,
        *,
        bucket: Literal["1h", "1d"],
        tenant: str | None = None,
        sensor: str | None = None,
        quantity: Quantity | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Hourly or daily mean/min/max/count per sensor and quantity, in bucket order.

        `coverage` is the share of expected readings present: count × the sensor's expected
        (or learned) interval / the bucket's length, at most 1; None when the interval is unknown.
        """
        return self.rollup_table(
            bucket=bucket, tenant=tenant, sensor=sensor, quantity=quantity, start=start, end=end, limit=limit
        ).dicts()

    def rollup_table(
        self,
        *,
        bucket: Literal["1h", "1d"],
        tenant: str | None = None,
        sensor: str | None = None,
        quantity: Quantity | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1000,
    ) -> RowTable:
        """`rollup` as tuples (columns: tenant, sensor, quantity, unit, time, mean, min, max,
        count, coverage)."""
        sql, params = rollup_query(
            bucket,
            self.rollup_mode()[1],
            tenant=tenant,
            sensor=sensor,
            quantity=quantity,
            start=start,
            end=end,
            limit=limit,
        )
        with self._connection() as conn:
            return fetch_table(conn, sql, params)
