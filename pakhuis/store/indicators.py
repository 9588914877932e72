"""SQL for the indicators computed from the registers: per drain, and per grid cell.

Each computation replaces the previous one whole (per cell size for cells), in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from psycopg.types.json import Jsonb

from pakhuis.store.connection import Connected
from pakhuis.store.rows import RowTable, copy_rows, fetch_table

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
_GEOMETRY = CELL_COLUMNS.index("geometry")

# Cells of one size (default: the most recently computed), optionally within a WGS84 bbox.
_CELLS = """
WITH size AS (
    SELECT coalesce(%(size)s::float8,
                    (SELECT cell_size FROM cell_indicators ORDER BY computed DESC LIMIT 1)) AS s)
SELECT c.cell_size, c.cell_x, c.cell_y, c.crs, c.geometry::text AS geometry, c.drain_count, c.tree_count,
       c.mean_leaf_load, c.share_drains_within_4m, c.computed
FROM cell_indicators c, size
WHERE c.cell_size = size.s
  AND (%(bbox)s::float8[] IS NULL OR (c.max_lon >= (%(bbox)s::float8[])[1]
       AND c.min_lon <= (%(bbox)s::float8[])[3] AND c.max_lat >= (%(bbox)s::float8[])[2]
       AND c.min_lat <= (%(bbox)s::float8[])[4]))
ORDER BY c.cell_y, c.cell_x LIMIT %(limit)s
"""


def _with_json_geometry(row: Sequence[Any]) -> list[Any]:
    values = list(row)
    values[_GEOMETRY] = Jsonb(values[_GEOMETRY])
    return values


class IndicatorQueries(Connected):
    def replace_drain_indicators(self, rows: Iterable[Sequence[Any]]) -> int:
        with self._connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("TRUNCATE drain_indicators")
            return copy_rows(cur, "drain_indicators", DRAIN_INDICATOR_COLUMNS, rows)

    def replace_cell_indicators(self, cell_size: float, rows: Iterable[Sequence[Any]]) -> int:
        with self._connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("DELETE FROM cell_indicators WHERE cell_size = %s", (cell_size,))
            return copy_rows(cur, "cell_indicators", CELL_COLUMNS, (_with_json_geometry(row) for row in rows))

    def cells(
        self,
        *,
        cell_size: float | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        limit: int = 50_000,
    ) -> RowTable:
        """Cells of one size (default: the most recently computed), optionally within a WGS84
        bbox; the `geometry` column is GeoJSON text (the API passes it through unparsed)."""
        params = {"size": cell_size, "bbox": list(bbox) if bbox else None, "limit": limit}
        with self._connection() as conn:
            return fetch_table(conn, _CELLS, params)
