"""SQL for the drain-cleaning plan: zones, cleanings, the fill model and stored route plans.

Plain rows in and out; `geo.planning` turns them into frames and arrays.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

ZoneRow = tuple[str | None, dict[str, Any], float]  # name, WGS84 GeoJSON geometry, buffer (m)
CleaningRow = tuple[str, datetime, str, float | None]  # drain key, time, method, sludge (m³)

FILL_STATE_COLUMNS = (
    "drain_id",
    "model_version",
    "sensor",
    "status",
    "n_readings",
    "n_since_cleaning",
    "measured_rate",
    "measured_se",
    "predicted_rate",
    "predicted_sd",
    "rate",
    "rate_sd",
    "rate_source",
    "last_cleaning",
    "last_cleaning_source",
    "fill_time",
    "fill_value",
)


def replace_zones(conn: psycopg.Connection[Any], kind: str, rows: Iterable[ZoneRow], source: str) -> int:
    """Swap all zones of one kind in one transaction."""
    count = 0
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("DELETE FROM zones WHERE kind = %s", (kind,))
        with cur.copy("COPY zones (kind, name, source, buffer_m, geometry) FROM STDIN") as copy:
            for name, geometry, buffer_m in rows:
                copy.write_row((kind, name, source, buffer_m, Jsonb(geometry)))
                count += 1
    return count


def add_cleanings(conn: psycopg.Connection[Any], rows: Sequence[CleaningRow], source: str) -> int:
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


def unknown_drain_keys(conn: psycopg.Connection[Any], keys: Sequence[str]) -> list[str]:
    """The keys that name no drain in the register."""
    rows = conn.execute(
        """SELECT k FROM unnest(%s::text[]) AS k
           WHERE NOT EXISTS (SELECT 1 FROM drains d WHERE coalesce(d.source_id, d.id::text) = k)""",
        (list(dict.fromkeys(keys)),),
    ).fetchall()
    return [str(r[0]) for r in rows]


def save_fill_model(
    conn: psycopg.Connection[Any],
    version: str,
    description: dict[str, Any],
    seasonal: dict[str, Any],
    states: Iterable[Sequence[Any]],
) -> int:
    """Record a model and replace every drain's fill state with the states it produced."""
    count = 0
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            """INSERT INTO fill_models (version, description, seasonal) VALUES (%s, %s, %s)
               ON CONFLICT (version) DO UPDATE SET description = EXCLUDED.description,
                   seasonal = EXCLUDED.seasonal, created = now()""",
            (version, Jsonb(description), Jsonb(seasonal)),
        )
        cur.execute("TRUNCATE drain_fill_state")
        with cur.copy(f"COPY drain_fill_state ({', '.join(FILL_STATE_COLUMNS)}) FROM STDIN") as copy:
            for row in states:
                copy.write_row(row)
                count += 1
    return count


def save_route_plan(
    conn: psycopg.Connection[Any],
    plan_date: date,
    parameters: dict[str, Any],
    summary: dict[str, Any],
    geojson: dict[str, Any],
    csv: str,
    gpx: str,
) -> None:
    with conn.transaction():
        conn.execute(
            """INSERT INTO route_plans (plan_date, parameters, summary, geojson, csv, gpx)
               VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (plan_date) DO UPDATE SET created = now(), parameters = EXCLUDED.parameters,
                   summary = EXCLUDED.summary, geojson = EXCLUDED.geojson, csv = EXCLUDED.csv,
                   gpx = EXCLUDED.gpx""",
            (plan_date, Jsonb(parameters), Jsonb(summary), Jsonb(geojson), csv, gpx),
        )
