"""Spatial analytics: numba kernels behind typed wrappers (drain/tree and per-cell indicators).

- `geo.spatial`: numpy in, numpy out, in metres -- nearest neighbour, counts within radii,
  leaf load, cell aggregation, inverse-distance interpolation (kernels in `geo._kernels`,
  private);
- `geo.crs`: the metric CRS for a GeoDataFrame (RD New for Dutch data, else UTM);
- `geo.indicators`: drain ↔ tree indicators per drain and per grid cell from GeoDataFrames
  in any CRS.

The numpy layer is imported eagerly (numpy and numba only); the GeoDataFrame layer, which
needs geopandas, on first use -- so `import geo` stays cheap for a process that only wants
the kernels.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from geo.spatial import (
    CellAggregate,
    GridIndex,
    NearbySummary,
    counts_within,
    grid_aggregate,
    idw,
    leaf_load,
    nearest_distances,
    threading_layer,
    warm_up,
)

if TYPE_CHECKING:
    from geo.crs import RD_NEW, metric_crs, to_metric_xy
    from geo.indicators import LEAF_CLASSES, LEAF_WEIGHTS, cell_indicators, drain_tree_indicators

# name -> module, imported on first attribute access (these modules import geopandas)
_LAZY = {
    "RD_NEW": "geo.crs",
    "metric_crs": "geo.crs",
    "to_metric_xy": "geo.crs",
    "LEAF_CLASSES": "geo.indicators",
    "LEAF_WEIGHTS": "geo.indicators",
    "cell_indicators": "geo.indicators",
    "drain_tree_indicators": "geo.indicators",
    # --- registers / leaf classes (the loading work) add their names here ---
}

__all__ = [
    "LEAF_CLASSES",
    "LEAF_WEIGHTS",
    "RD_NEW",
    "CellAggregate",
    "GridIndex",
    "NearbySummary",
    "cell_indicators",
    "counts_within",
    "drain_tree_indicators",
    "grid_aggregate",
    "idw",
    "leaf_load",
    "metric_crs",
    "nearest_distances",
    "threading_layer",
    "to_metric_xy",
    "warm_up",
    # --- registers / leaf classes (the loading work) add their names here ---
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'geo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
