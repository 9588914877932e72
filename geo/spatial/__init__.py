"""The spatial engine: numpy arrays in metres in, numpy arrays out; CRS; drain ↔ tree indicators.

- `grid`: a uniform-grid index -- nearest target, counts within radii, leaf load;
- `cells`: point values aggregated into square cells (one set, or two sets' cells together);
- `interpolate`: inverse-distance interpolation onto centres;
- `threads`, `warmup`: numba's threads and compiling the kernels ahead of use;
- `crs`: the metric CRS for a GeoDataFrame (RD New for Dutch data, else UTM), and
  `MetricPoints`, a frame's coordinates in it read once;
- `indicators`: drain ↔ tree indicators per drain and per grid cell from GeoDataFrames.

The kernels (`_kernels`, private) take (n, 2) C-contiguous float64 arrays; the wrappers take
any array-like of that shape and make that copy themselves. The numpy layer is imported
eagerly (numpy and numba only); `crs` and `indicators`, which need geopandas, on first use --
so importing this package stays cheap for a process that only wants the kernels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geo._lazy import lazy_attributes
from geo.spatial.cells import CellAggregate, CellUnion, grid_aggregate, union_cells
from geo.spatial.grid import GridIndex, NearbySummary, counts_within, leaf_load, nearest_distances
from geo.spatial.interpolate import idw
from geo.spatial.threads import threading_layer
from geo.spatial.warmup import warm_up

if TYPE_CHECKING:
    from geo.spatial.crs import RD_NEW, MetricPoints, metric_crs, metric_points, metric_xy_of, to_metric_xy
    from geo.spatial.indicators import LEAF_CLASSES, LEAF_WEIGHTS, cell_indicators, drain_tree_indicators

# name -> module, imported on first attribute access (these modules import geopandas)
_LAZY = {
    "RD_NEW": "geo.spatial.crs",
    "MetricPoints": "geo.spatial.crs",
    "metric_points": "geo.spatial.crs",
    "metric_crs": "geo.spatial.crs",
    "metric_xy_of": "geo.spatial.crs",
    "to_metric_xy": "geo.spatial.crs",
    "LEAF_CLASSES": "geo.spatial.indicators",
    "LEAF_WEIGHTS": "geo.spatial.indicators",
    "cell_indicators": "geo.spatial.indicators",
    "drain_tree_indicators": "geo.spatial.indicators",
}

__all__ = [
    "LEAF_CLASSES",
    "LEAF_WEIGHTS",
    "RD_NEW",
    "CellAggregate",
    "CellUnion",
    "GridIndex",
    "MetricPoints",
    "NearbySummary",
    "cell_indicators",
    "counts_within",
    "drain_tree_indicators",
    "grid_aggregate",
    "idw",
    "leaf_load",
    "metric_crs",
    "metric_points",
    "metric_xy_of",
    "nearest_distances",
    "threading_layer",
    "to_metric_xy",
    "union_cells",
    "warm_up",
]


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
