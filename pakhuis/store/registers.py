"""SQL for the drain and tree registers: whole-register loads, and drains with their indicators.

Plain rows in and out (no geopandas here: the store is shared by every room); `geo` turns them
into GeoDataFrames.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import psycopg
from psycopg.types.json import Jsonb

from pakhuis.store.connection import Connected
from pakhuis.store.rows import copy_rows, fetch_all, fetch_one

DrainRow = tuple[str | None, float, float, dict[str, Any]]  # source id, lon, lat, attributes
TreeRow = tuple[str | None, float, float, str | None, str | None, str]  # ..., species, genus, leaf class

Register = Literal["drains", "trees"]
Bounds = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat

_TREE_COLUMNS = ("source_id", "lon", "lat", "species", "genus", "leaf_class")

# One statement per register: the table name is never spliced in from a caller's value.
_COUNT: dict[Register, str] = {
    "drains": "SELECT count(*) FROM drains",
    "trees": "SELECT count(*) FROM trees",
}
_BOUNDS: dict[Register, str] = {
    "drains": "SELECT min(lon), min(lat), max(lon), max(lat) FROM drains",
    "trees": "SELECT min(lon), min(lat), max(lon), max(lat) FROM trees",
}

# What `TRUNCATE drains ... CASCADE` empties besides the drains: the tables whose rows
# reference a drain (migrations 0005 and 0006).
_DRAIN_DEPENDENTS = """
SELECT (SELECT count(*) FROM drain_fill_state) AS drain_fill_state,
       (SELECT count(*) FROM drain_indicators) AS drain_indicators
"""

_RECORD_LOAD = """
INSERT INTO register_loads (register, source, rows, rejected) VALUES (%s, %s, %s, %s)
ON CONFLICT (register) DO UPDATE SET source = EXCLUDED.source, rows = EXCLUDED.rows,
    rejected = EXCLUDED.rejected, loaded = now()
"""

_DRAIN = """
SELECT d.id, d.source_id, d.lon, d.lat, d.attributes, i.nearest_tree_m, i.nearest_tree_id,
       i.nearest_leaf_class, i.trees_within_4m, i.trees_within_10m,
       i.large_leaf_within_10m, i.leaf_load, i.computed
FROM drains d LEFT JOIN drain_indicators i ON i.drain_id = d.id WHERE d.id = %s
"""

_DRAINS_FOR_PLANNING = """
SELECT d.id, coalesce(d.source_id, d.id::text) AS drain_key, d.lon, d.lat, d.attributes,
       i.nearest_tree_m, i.trees_within_4m, i.trees_within_10m,
       i.large_leaf_within_10m, i.leaf_load
FROM drains d LEFT JOIN drain_indicators i ON i.drain_id = d.id ORDER BY d.id
"""


def _replace_drains(
    conn: psycopg.Connection[Any], rows: Iterable[DrainRow], source: str, rejected: int
) -> int:
    """Swap the whole drain register in one transaction (its indicators go with it)."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("TRUNCATE drains RESTART IDENTITY CASCADE")
        count = copy_rows(
            cur,
            "drains",
            ("source_id", "lon", "lat", "attributes"),
            ((source_id, lon, lat, Jsonb(attributes)) for source_id, lon, lat, attributes in rows),
        )
        cur.execute(_RECORD_LOAD, ("drains", source, count, rejected))
    return count


def _replace_trees(conn: psycopg.Connection[Any], rows: Iterable[TreeRow], source: str, rejected: int) -> int:
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("TRUNCATE trees RESTART IDENTITY")
        # Indicators point at tree ids that no longer exist: they are recomputed after a load.
        cur.execute("TRUNCATE drain_indicators, cell_indicators")
        count = copy_rows(cur, "trees", _TREE_COLUMNS, rows)
        cur.execute(_RECORD_LOAD, ("trees", source, count, rejected))
    return count


class RegisterQueries(Connected):
    def replace_drains(self, rows: Iterable[DrainRow], *, source: str, rejected: int = 0) -> int:
        with self._connection() as conn:
            return _replace_drains(conn, rows, source, rejected)

    def replace_trees(self, rows: Iterable[TreeRow], *, source: str, rejected: int = 0) -> int:
        with self._connection() as conn:
            return _replace_trees(conn, rows, source, rejected)

    def drains_register(self) -> list[dict[str, Any]]:
        with self._connection() as conn:
            return fetch_all(conn, "SELECT id, source_id, lon, lat FROM drains ORDER BY id")

    def trees_register(self) -> list[dict[str, Any]]:
        with self._connection() as conn:
            return fetch_all(conn, f"SELECT id, {', '.join(_TREE_COLUMNS)} FROM trees ORDER BY id")

    def register_loads(self) -> list[dict[str, Any]]:
        with self._connection() as conn:
            return fetch_all(conn, "SELECT register, source, rows, rejected, loaded FROM register_loads")

    def register_count(self, register: Register) -> int:
        """How many drains or trees the register holds now."""
        with self._connection() as conn:
            row = conn.execute(_COUNT[register]).fetchone()
        return int(row[0]) if row else 0

    def register_bounds(self, register: Register) -> Bounds | None:
        """The register's bounding box in WGS84, None when it is empty."""
        with self._connection() as conn:
            row = conn.execute(_BOUNDS[register]).fetchone()
        if row is None or row[0] is None:
            return None
        return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))

    def drain_dependents(self) -> dict[str, int]:
        """Rows per table that replacing the drain register removes with it (fill states of
        the fitted model, indicators), keyed by table."""
        with self._connection() as conn:
            row = fetch_one(conn, _DRAIN_DEPENDENTS)
        return {table: int(n) for table, n in (row or {}).items()}

    def drain(self, drain_id: int) -> dict[str, Any] | None:
        with self._connection() as conn:
            return fetch_one(conn, _DRAIN, (drain_id,))

    def has_drain(self, key: str) -> bool:
        """Whether the register holds a drain with this key (its own id, else pakhuis' id), the
        key a sensor's metadata "drain" names."""
        with self._connection() as conn:
            row = conn.execute(
                "SELECT EXISTS (SELECT 1 FROM drains WHERE coalesce(source_id, id::text) = %s)", (key,)
            ).fetchone()
        return bool(row and row[0])

    def drains_for_planning(self) -> list[dict[str, Any]]:
        """Every drain with its key (own id, else pakhuis' id), attributes and indicators."""
        with self._connection() as conn:
            return fetch_all(conn, _DRAINS_FOR_PLANNING)
