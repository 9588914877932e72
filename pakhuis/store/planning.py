"""SQL for the drain-cleaning plan: zones, recorded cleanings and stored route plans.

Plain rows in and out; `geo` turns them into frames and arrays. The fill model the plan reads
is in `fillmodel`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from pakhuis.store.connection import Connected
from pakhuis.store.rows import copy_rows, fetch_all, fetch_one

ZoneRow = tuple[str | None, dict[str, Any], float]  # name, WGS84 GeoJSON geometry, buffer (m)
CleaningRow = tuple[str, datetime, str, float | None]  # drain key, time, method, sludge (m³)


def _replace_zones(conn: psycopg.Connection[Any], kind: str, rows: Iterable[ZoneRow], source: str) -> int:
    """Swap all zones of one kind in one transaction."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("DELETE FROM zones WHERE kind = %s", (kind,))
        return copy_rows(
            cur,
            "zones",
            ("kind", "name", "source", "buffer_m", "geometry"),
            ((kind, name, source, buffer_m, Jsonb(geometry)) for name, geometry, buffer_m in rows),
        )


def _add_cleanings(conn: psycopg.Connection[Any], rows: Sequence[CleaningRow], source: str) -> int:
    """Insert cleanings; one already recorded (same drain and time) is not counted twice."""
    if not rows:
        return 0
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            """INSERT INTO cleanings (drain_key, time, method, sludge_m3, source)
               SELECT k, t, m, v, %s FROM unnest(%s::text[], %s::timestamptz[], %s::text[], %s::float8[])
                   AS r(k, t, m, v)
               ON CONFLICT (drain_key, time) DO NOTHING""",
            (
                source,
                [r[0] for r in rows],
                [r[1] for r in rows],
                [r[2] for r in rows],
                [r[3] for r in rows],
            ),
        )
        inserted = cur.rowcount
        # A cleaning empties the drain: its fill state restarts at 0 % from then on (unless the
        # state already knows something newer), so the schedule reflects it before any refit.
        cur.execute(
            """UPDATE drain_fill_state s
               SET last_cleaning = c.time, last_cleaning_source = 'work_order',
                   fill_time = c.time, fill_value = 0
               FROM (SELECT drain_key, max(time) AS time
                     FROM unnest(%s::text[], %s::timestamptz[]) AS r(drain_key, time) GROUP BY drain_key) c,
                    drains d
               WHERE coalesce(d.source_id, d.id::text) = c.drain_key AND s.drain_id = d.id
                 AND (s.fill_time IS NULL OR s.fill_time < c.time)""",
            ([r[0] for r in rows], [r[1] for r in rows]),
        )
        return inserted


def _unknown_drain_keys(conn: psycopg.Connection[Any], keys: Sequence[str]) -> list[str]:
    """The keys that name no drain in the register."""
    rows = conn.execute(
        """SELECT k FROM unnest(%s::text[]) AS k
           WHERE NOT EXISTS (SELECT 1 FROM drains d WHERE coalesce(d.source_id, d.id::text) = k)""",
        (list(dict.fromkeys(keys)),),
    ).fetchall()
    return [str(r[0]) for r in rows]


_SAVE_ROUTE_PLAN = """
INSERT INTO route_plans (plan_date, parameters, summary, geojson, csv, gpx)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (plan_date) DO UPDATE SET created = now(), parameters = EXCLUDED.parameters,
    summary = EXCLUDED.summary, geojson = EXCLUDED.geojson, csv = EXCLUDED.csv, gpx = EXCLUDED.gpx
"""


class PlanningQueries(Connected):
    def replace_zones(self, kind: str, rows: Iterable[ZoneRow], *, source: str) -> int:
        with self._connection() as conn:
            return _replace_zones(conn, kind, rows, source)

    def zones(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._connection() as conn:
            return fetch_all(
                conn,
                """SELECT id, kind, name, source, buffer_m, geometry, loaded FROM zones
                   WHERE %(kind)s::text IS NULL OR kind = %(kind)s ORDER BY id""",
                {"kind": kind},
            )

    def add_cleanings(self, rows: Sequence[CleaningRow], *, source: str) -> int:
        with self._connection() as conn:
            return _add_cleanings(conn, rows, source)

    def unknown_drain_keys(self, keys: Sequence[str]) -> list[str]:
        with self._connection() as conn:
            return _unknown_drain_keys(conn, keys)

    def cleanings(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[dict[str, Any]]:
        with self._connection() as conn:
            return fetch_all(
                conn,
                """SELECT id, drain_key, time, method, sludge_m3, source, recorded FROM cleanings
                   WHERE (%(since)s::timestamptz IS NULL OR time >= %(since)s)
                     AND (%(until)s::timestamptz IS NULL OR time < %(until)s)
                   ORDER BY time, id""",
                {"since": since, "until": until},
            )

    def save_route_plan(
        self,
        plan_date: date,
        *,
        parameters: dict[str, Any],
        summary: dict[str, Any],
        geojson: dict[str, Any],
        csv: str,
        gpx: str,
    ) -> None:
        with self._connection() as conn, conn.transaction():
            conn.execute(
                _SAVE_ROUTE_PLAN, (plan_date, Jsonb(parameters), Jsonb(summary), Jsonb(geojson), csv, gpx)
            )

    def route_plan(self, plan_date: date) -> dict[str, Any] | None:
        with self._connection() as conn:
            return fetch_one(
                conn,
                "SELECT plan_date, created, parameters, summary, geojson, csv, gpx FROM route_plans "
                "WHERE plan_date = %s",
                (plan_date,),
            )
