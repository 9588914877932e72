"""SQL for alerts: threshold crossings, hourly-mean exceedances and silent ("stale") sensors.

The partial unique index `alerts_one_open` makes "at most one open alert per sensor, quantity
and rule" a database fact, and `alerts_identity` makes processing the same crossing twice a
no-op, so concurrent or repeated evaluation cannot raise an alert twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from pakhuis.alerts import Alert, AlertRule
from pakhuis.store.connection import Connected
from pakhuis.store.rows import fetch_all

_DESCRIBE = """
SELECT a.id, s.tenant, s.name AS sensor, q.name AS quantity, a.rule, a.opened, a.closed,
       a.value, a.threshold, a.message
FROM alerts a JOIN sensors s ON s.id = a.sensor_id LEFT JOIN quantities q ON q.id = a.quantity_id
WHERE a.id = ANY(%s)
"""

_ALERTS = """
SELECT a.id, s.tenant, s.name AS sensor, q.name AS quantity, a.rule, a.threshold,
       a.value, a.opened, a.closed, a.message
FROM alerts a JOIN sensors s ON s.id = a.sensor_id
LEFT JOIN quantities q ON q.id = a.quantity_id
WHERE (%(tenant)s::text IS NULL OR s.tenant = %(tenant)s)
  AND (NOT %(open_only)s OR a.closed IS NULL)
ORDER BY a.opened DESC, a.id DESC LIMIT %(limit)s
"""


@dataclass(frozen=True, slots=True)
class Crossing:
    """A threshold crossing found in a batch: open at `time` (value ≥ threshold) or close."""

    tenant: str
    sensor: str
    quantity_id: int
    opens: bool
    time: datetime
    value: float
    threshold: float
    message: str


def _open_above_keys(
    conn: psycopg.Connection[Any], keys: Iterable[tuple[str, str, int]]
) -> set[tuple[str, str, int]]:
    """Which (tenant, sensor, quantity id) currently have an open 'above' alert."""
    keys = list(keys)
    if not keys:
        return set()
    rows = conn.execute(
        """SELECT s.tenant, s.name, a.quantity_id
           FROM alerts a JOIN sensors s ON s.id = a.sensor_id
           JOIN unnest(%s::text[], %s::text[], %s::int[]) AS k(tenant, sensor, qid)
             ON k.tenant = s.tenant AND k.sensor = s.name AND k.qid = a.quantity_id
           WHERE a.rule = 'above' AND a.closed IS NULL""",
        ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]),
    ).fetchall()
    return {(str(r[0]), str(r[1]), int(r[2])) for r in rows}


def _apply_crossings(conn: psycopg.Connection[Any], crossings: Sequence[Crossing]) -> list[Alert]:
    changed: list[tuple[int, str]] = []
    with conn.transaction(), conn.cursor() as cur:
        for c in crossings:
            if c.opens:
                cur.execute(
                    """INSERT INTO alerts (sensor_id, quantity_id, rule, threshold, value, opened, message)
                       SELECT id, %s, 'above', %s, %s, %s, %s FROM sensors
                       WHERE tenant = %s AND name = %s
                       ON CONFLICT DO NOTHING RETURNING id""",
                    (c.quantity_id, c.threshold, c.value, c.time, c.message, c.tenant, c.sensor),
                )
                changed.extend((int(row[0]), "opened") for row in cur.fetchall())
            else:
                cur.execute(
                    """UPDATE alerts a SET closed = %s
                       FROM sensors s
                       WHERE s.id = a.sensor_id AND s.tenant = %s AND s.name = %s
                         AND a.quantity_id = %s AND a.rule = 'above' AND a.closed IS NULL
                         AND a.opened <= %s
                       RETURNING a.id""",
                    (c.time, c.tenant, c.sensor, c.quantity_id, c.time),
                )
                changed.extend((int(row[0]), "closed") for row in cur.fetchall())
    return describe_alerts(conn, changed)


def _apply_hourly_means(
    conn: psycopg.Connection[Any],
    keys: Sequence[tuple[str, str, int, datetime]],
    thresholds: dict[int, float],
) -> list[Alert]:
    """Open or close hourly-mean alerts for the touched hours (tenant, sensor, quantity id, hour)."""
    if not keys:
        return []
    changed: list[tuple[int, str]] = []
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            # From the observations themselves (one hour each): a continuous aggregate may not
            # have caught up with a late write yet.
            """SELECT s.id AS sensor_id, k.qid AS quantity_id, k.hour AS bucket, avg(o.value) AS mean
               FROM unnest(%s::text[], %s::text[], %s::int[], %s::timestamptz[])
                    AS k(tenant, sensor, qid, hour)
               JOIN sensors s ON s.tenant = k.tenant AND s.name = k.sensor
               JOIN observations o ON o.sensor_id = s.id AND o.quantity_id = k.qid
                                  AND o.time >= k.hour AND o.time < k.hour + INTERVAL '1 hour'
               GROUP BY s.id, k.qid, k.hour
               ORDER BY k.hour""",
            ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], [k[3] for k in keys]),
        )
        for row in cur.fetchall():
            threshold = thresholds[row["quantity_id"]]
            if row["mean"] > threshold:
                cur.execute(
                    """INSERT INTO alerts (sensor_id, quantity_id, rule, threshold, value, opened, message)
                       VALUES (%s, %s, 'hourly_mean_above', %s, %s, %s, %s)
                       ON CONFLICT DO NOTHING RETURNING id""",
                    (
                        row["sensor_id"],
                        row["quantity_id"],
                        threshold,
                        row["mean"],
                        row["bucket"],
                        f"hourly mean {row['mean']:.1f} exceeds {threshold:g} "
                        f"(hour starting {row['bucket'].isoformat()})",
                    ),
                )
                changed.extend((int(r["id"]), "opened") for r in cur.fetchall())
            else:
                cur.execute(
                    """UPDATE alerts SET closed = %s
                       WHERE sensor_id = %s AND quantity_id = %s AND rule = 'hourly_mean_above'
                         AND closed IS NULL AND opened <= %s
                       RETURNING id""",
                    (row["bucket"], row["sensor_id"], row["quantity_id"], row["bucket"]),
                )
                changed.extend((int(r["id"]), "closed") for r in cur.fetchall())
    return describe_alerts(conn, changed)


def _sweep_stale(conn: psycopg.Connection[Any], now: datetime, factor: float) -> list[Alert]:
    """Open a 'stale' alert for every sensor silent longer than factor × its expected interval."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            """INSERT INTO alerts (sensor_id, rule, threshold, value, opened, message)
               SELECT s.id, 'stale', e.interval_s * %(factor)s,
                      extract(epoch FROM %(now)s - s.last_received), %(now)s,
                      format('silent for %%s s; expected a reading every %%s s',
                             round(extract(epoch FROM %(now)s - s.last_received)), round(e.interval_s))
               FROM sensors s
               CROSS JOIN LATERAL
                   (SELECT coalesce(s.expected_interval_s, s.typical_interval_s) AS interval_s) e
               WHERE s.last_received IS NOT NULL AND e.interval_s > 0
                 AND %(now)s - s.last_received > make_interval(secs => e.interval_s * %(factor)s)
               ON CONFLICT DO NOTHING RETURNING id""",
            {"now": now, "factor": factor},
        )
        opened = [(int(r[0]), "opened") for r in cur.fetchall()]
    return describe_alerts(conn, opened)


def close_stale_for_batch(cur: psycopg.Cursor[Any]) -> list[int]:
    """Inside a write: sensors in staging_readings sent data again, so they are no longer stale."""
    cur.execute(
        """UPDATE alerts a SET closed = now()
           FROM sensors s
           WHERE a.sensor_id = s.id AND a.rule = 'stale' AND a.closed IS NULL
             -- Only data received after the alert opened; a redelivered old batch is no sign of life.
             AND EXISTS (SELECT 1 FROM staging_readings r
                         WHERE r.tenant = s.tenant AND r.sensor = s.name AND r.received > a.opened)
           RETURNING a.id"""
    )
    return [int(r[0]) for r in cur.fetchall()]


def describe_alerts(conn: psycopg.Connection[Any], changed: Sequence[tuple[int, str]]) -> list[Alert]:
    if not changed:
        return []
    rows = {row["id"]: row for row in fetch_all(conn, _DESCRIBE, ([alert_id for alert_id, _ in changed],))}
    alerts = []
    for alert_id, state in changed:
        row = rows[alert_id]
        alerts.append(
            Alert(
                id=alert_id,
                tenant=row["tenant"],
                sensor=row["sensor"],
                quantity=row["quantity"],
                rule=AlertRule(row["rule"]),
                state=state,
                time=row["closed"] if state == "closed" else row["opened"],
                value=row["value"],
                threshold=row["threshold"],
                message=row["message"],
            )
        )
    return alerts


class AlertQueries(Connected):
    def open_above_alerts(self, keys: Sequence[tuple[str, str, int]]) -> set[tuple[str, str, int]]:
        with self._connection() as conn:
            return _open_above_keys(conn, keys)

    def apply_crossings(self, crossings: Sequence[Crossing]) -> list[Alert]:
        if not crossings:
            return []
        with self._connection() as conn:
            return _apply_crossings(conn, crossings)

    def apply_hourly_mean_alerts(
        self, hours: Sequence[tuple[str, str, int, datetime]], thresholds: dict[int, float]
    ) -> list[Alert]:
        with self._connection() as conn:
            return _apply_hourly_means(conn, hours, thresholds)

    def sweep_stale(self, now: datetime, factor: float) -> list[Alert]:
        with self._connection() as conn:
            return _sweep_stale(conn, now, factor)

    def alerts(
        self, *, tenant: str | None = None, open_only: bool = False, limit: int = 100
    ) -> list[dict[str, Any]]:
        with self._connection() as conn:
            return fetch_all(conn, _ALERTS, {"tenant": tenant, "open_only": open_only, "limit": limit})
