"""Registers: the files municipalities publish, read into frames with every rejected row.

- `points`: drain and tree positions as WGS84 points (`read_points`), read in stages --
  `source` (the file), `coordinates`, `source_crs`, `positions` (checks, WGS84), `species` --
  that share one `rejections.Rejections`; `results` holds what a load returns;
- `trees`: `read_trees`, the points plus each tree's leaf class (`leafclasses`);
- `zones`: priority zones (shopping streets, bus stops, ...) as WGS84 areas;
- `workorders`: recorded cleanings from a CSV file or the API.

`workorders` needs nothing beyond the standard library and is imported eagerly; the rest
(pandas, geopandas) on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geo._lazy import lazy_attributes
from geo.registers.workorders import METHODS, WorkOrder, WorkOrderError, parse_work_orders, read_work_orders

if TYPE_CHECKING:
    from geo.registers.errors import RegisterError
    from geo.registers.leafclasses import LeafClassTable, LeafInfo, classify, classify_series, default_table
    from geo.registers.numbers import parse_decimal
    from geo.registers.options import ReadOptions
    from geo.registers.points import points_of, read_points
    from geo.registers.results import LoadCounts, LoadResult, TreeLoadResult
    from geo.registers.source import read_source
    from geo.registers.source_crs import guess_crs
    from geo.registers.trees import read_trees, trees_of
    from geo.registers.zones import DEFAULT_BUFFER_M, ZONE_KINDS, ZoneKind, ZoneLoad, drain_zones, read_zones

# name -> module, imported on first attribute access (these modules import pandas / geopandas)
_LAZY = {
    "RegisterError": "geo.registers.errors",
    "LeafClassTable": "geo.registers.leafclasses",
    "LeafInfo": "geo.registers.leafclasses",
    "classify": "geo.registers.leafclasses",
    "classify_series": "geo.registers.leafclasses",
    "default_table": "geo.registers.leafclasses",
    "parse_decimal": "geo.registers.numbers",
    "ReadOptions": "geo.registers.options",
    "points_of": "geo.registers.points",
    "read_points": "geo.registers.points",
    "LoadCounts": "geo.registers.results",
    "LoadResult": "geo.registers.results",
    "TreeLoadResult": "geo.registers.results",
    "read_source": "geo.registers.source",
    "guess_crs": "geo.registers.source_crs",
    "read_trees": "geo.registers.trees",
    "trees_of": "geo.registers.trees",
    "DEFAULT_BUFFER_M": "geo.registers.zones",
    "ZONE_KINDS": "geo.registers.zones",
    "ZoneKind": "geo.registers.zones",
    "ZoneLoad": "geo.registers.zones",
    "drain_zones": "geo.registers.zones",
    "read_zones": "geo.registers.zones",
}

__all__ = [
    "DEFAULT_BUFFER_M",
    "METHODS",
    "ZONE_KINDS",
    "LeafClassTable",
    "LeafInfo",
    "LoadCounts",
    "LoadResult",
    "ReadOptions",
    "RegisterError",
    "TreeLoadResult",
    "WorkOrder",
    "WorkOrderError",
    "ZoneKind",
    "ZoneLoad",
    "classify",
    "classify_series",
    "default_table",
    "drain_zones",
    "guess_crs",
    "parse_decimal",
    "parse_work_orders",
    "points_of",
    "read_points",
    "read_source",
    "read_trees",
    "read_work_orders",
    "read_zones",
    "trees_of",
]


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
