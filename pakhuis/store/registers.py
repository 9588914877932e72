"""SQL for the drain and tree registers and the indicators computed from them.

Plain rows in and out (no geopandas here: the store is shared by every room); `geo` turns them
into GeoDataFrames.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

DrainRow = tuple[str | None, float, float, dict[str, Any]]
TreeRow = tuple[str | None, float, float, str | None, str | None, str]

DRAIN_INDICATOR_COLUMNS = (
    "drain_id",
    "nearest_tree_m",
    "nearest_tree_id",
    "nearest_leaf_class",
    "trees_within_4m",
    "trees_within_10m",
    "large_leaf_within_10m",
    "leaf_load",
)
CELL_COLUMNS = (
    "cell_size",
    "cell_x",
    "cell_y",
    "crs",
    "geometry",
    "min_lon",
    "min_lat",
    "max_lon",
    "max_lat",
    "drain_count",
    "tree_count",
    "mean_leaf_load",
    "share_drains_within_4m",
)


def replace_drains(
    conn: psycopg.Connection[Any], rows: Iterable[DrainRow], source: str, rejected: int
) -> int:
    """Swap the whole drain register in one transaction (its indicators go with it)."""
    count = 0
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("TRUNCATE drains RESTART IDENTITY CASCADE")
        with cur.copy("COPY drains (source_id, lon, lat, attributes) FROM STDIN") as copy:
            for source_id, lon, lat, attributes in rows:
                copy.write_row((source_id, lon, lat, Jsonb(attributes)))
                count += 1
        _record_load(cur, "drains", source, count, rejected)
    return count


def replace_trees(conn: psycopg.Connection[Any], rows: Iterable[TreeRow], source: str, rejected: int) -> int:
    count = 0
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("TRUNCATE trees RESTART IDENTITY")
        # Indicators point at tree ids that no longer exist: they are recomputed after a load.
        cur.execute("TRUNCATE drain_indicators, cell_indicators")
        with cur.copy("COPY trees (source_id, lon, lat, species, genus, leaf_class) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        _record_load(cur, "trees", source, count, rejected)
    return count


def _record_load(cur: psycopg.Cursor[Any], register: str, source: str, rows: int, rejected: int) -> None:
    cur.execute(
        """INSERT INTO register_loads (register, source, rows, rejected) VALUES (%s, %s, %s, %s)
           ON CONFLICT (register) DO UPDATE SET source = EXCLUDED.source, rows = EXCLUDED.rows,
               rejected = EXCLUDED.rejected, loaded = now()""",
        (register, source, rows, rejected),
    )


def replace_drain_indicators(conn: psycopg.Connection[Any], rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("TRUNCATE drain_indicators")
        with cur.copy(f"COPY drain_indicators ({', '.join(DRAIN_INDICATOR_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def replace_cells(conn: psycopg.Connection[Any], cell_size: float, rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("DELETE FROM cell_indicators WHERE cell_size = %s", (cell_size,))
        with cur.copy(f"COPY cell_indicators ({', '.join(CELL_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                values = list(row)
                values[4] = Jsonb(values[4])
                copy.write_row(values)
                count += 1
    return count


def fetch(conn: psycopg.Connection[Any], sql: str, params: Any = None) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql, params)
        return cur.fetchall()
