"""Drain ↔ tree indicators per drain and per grid cell, from GeoDataFrames in any CRS.

Everything is computed in the metric CRS of the drains (`geo.spatial.crs.metric_crs`: RD New for Dutch
data, an estimated UTM zone elsewhere); the trees (and readings) are projected into it. Both
functions take the drains and trees as GeoDataFrames or as `MetricPoints` (`metric_points`):
the geometries read once, for callers that compute both -- at country scale reading 15 million
geometries costs about as much as the indicators themselves.

Leaf load of a drain = Σ over trees within R of weight(leaf class) × (1 − d / R): a linear
decay from the tree's full weight at the drain to nothing at R (R = the largest radius asked
for, 10 m by default). Weights: large leaves 1.0 (plane, horse chestnut, lime: a street to
sweep), small 0.5, needles 0.3, unknown 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.spatial._kernels import all_finite
from geo.spatial.cells import union_cells
from geo.spatial.crs import MetricPoints, metric_points, metric_xy_of
from geo.spatial.grid import GridIndex, NearbySummary
from geo.spatial.interpolate import idw

__all__ = ["LEAF_CLASSES", "LEAF_WEIGHTS", "Points", "cell_indicators", "drain_tree_indicators"]

LEAF_CLASSES: tuple[str, ...] = ("large", "small", "needle", "unknown")
LEAF_WEIGHTS: dict[str, float] = {"large": 1.0, "small": 0.5, "needle": 0.3, "unknown": 0.5}
_UNKNOWN = LEAF_CLASSES.index("unknown")
_LARGE = LEAF_CLASSES.index("large")
_SHARE_RADIUS = 4.0

# drains or trees: a GeoDataFrame, or its coordinates read once (`metric_points`)
Points: TypeAlias = gpd.GeoDataFrame | MetricPoints


def _leaf_codes(trees: pd.DataFrame) -> np.ndarray:
    """Per tree, its position in LEAF_CLASSES (missing column, NaN or other values: unknown)."""
    n = len(trees)
    if "leaf_class" not in trees.columns:
        return np.full(n, _UNKNOWN, np.int64)
    column = trees["leaf_class"]
    if isinstance(column.dtype, pd.CategoricalDtype):  # the fast path: codes are there already
        codes, uniques = column.cat.codes.to_numpy(), column.cat.categories
    else:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    names = [str(u).strip().lower() for u in uniques]
    lookup = np.array([LEAF_CLASSES.index(v) if v in LEAF_CLASSES else _UNKNOWN for v in names] + [_UNKNOWN])
    return np.asarray(lookup[codes], dtype=np.int64)  # code -1 (missing) picks the trailing "unknown"


def _check_radii(radii: Sequence[float]) -> tuple[float, ...]:
    out = tuple(float(r) for r in radii)
    if not out or any(not np.isfinite(r) or r <= 0 for r in out):
        raise ValueError(f"radii must be one or more positive distances in metres, got {radii!r}")
    return out


def _prepared(points: Points, crs: pyproj.CRS | None) -> MetricPoints:
    """`points` in `crs` (the frame's own metric CRS when None), reading the geometries only
    when they were not read in that CRS already."""
    if isinstance(points, MetricPoints):
        if crs is None or points.crs == crs:
            return points
        points = points.frame  # read again from the source: the same numbers as a frame gives
    return metric_points(points, crs)


def _drains(drains: Points) -> MetricPoints:
    d = _prepared(drains, None)
    if all_finite(d.xy):
        return d
    bad = ~np.isfinite(d.xy).all(axis=1)
    first = d.frame.index[np.flatnonzero(bad)[0]]
    raise ValueError(
        f"{int(bad.sum())} drains have no usable geometry (missing or empty; first: index {first!r}); "
        "drop them first"
    )


class _Trees:
    """The trees with a usable position, in the drains' metric CRS (indexed on first use)."""

    def __init__(self, trees: Points, crs: pyproj.CRS) -> None:
        t = _prepared(trees, crs)
        self.frame = t.frame
        xy = t.xy
        # positions in `trees` of the trees with a position (None: all of them)
        self.rows = None if all_finite(xy) else np.flatnonzero(np.isfinite(xy).all(axis=1))
        self.xy = xy if self.rows is None else np.ascontiguousarray(xy[self.rows])

    @cached_property
    def index(self) -> GridIndex:
        return GridIndex(self.xy)

    def around(self, drain_xy: np.ndarray, radii: tuple[float, ...], nearest: bool) -> NearbySummary:
        codes = self.all_codes if self.rows is None else self.all_codes[self.rows]
        weights = np.array([LEAF_WEIGHTS[c] for c in LEAF_CLASSES])[codes]
        reach = max(radii)
        return self.index.nearby(
            drain_xy,
            radii,
            weights=weights,
            load_radius=reach,
            flags=codes == _LARGE,
            flag_radius=reach,
            nearest=nearest,
        )

    @cached_property
    def all_codes(self) -> np.ndarray:
        return _leaf_codes(self.frame)

    def rows_of(self, idx: np.ndarray) -> np.ndarray:
        """Positions in the original trees frame (-1 stays -1)."""
        if self.rows is None:
            return idx
        return np.where(idx >= 0, self.rows[np.maximum(idx, 0)], -1)


def _tree_ids(trees: pd.DataFrame, rows: np.ndarray) -> pd.api.extensions.ExtensionArray:
    ids = trees["id"].to_numpy() if "id" in trees.columns else trees.index.to_numpy()
    if ids.dtype.kind in "iu" and len(ids) > 0:
        # what pd.array(ids).take(rows, allow_fill=True) gives (a nullable integer array of the
        # ids' dtype), without converting every tree's id first
        return pd.arrays.IntegerArray(ids[np.maximum(rows, 0)], rows < 0)
    return pd.array(ids).take(rows, allow_fill=True)


def drain_tree_indicators(
    drains: Points, trees: Points, radii: Sequence[float] = (4.0, 10.0)
) -> pd.DataFrame:
    """Per drain: the nearest tree and the trees around it. Indexed like `drains`.

    Columns: nearest_tree_m (NaN without trees), nearest_tree_id (the trees' `id` column, else
    their index; nullable), nearest_leaf_class (categorical over LEAF_CLASSES),
    trees_within_{r:g}m per radius, large_leaf_within_{max:g}m and leaf_load (see the module
    docstring). Trees need a `leaf_class` column (large/small/needle/unknown; missing column
    or other values count as unknown). Drains must all have a geometry; trees without one are
    ignored. Both frames may be in any CRS, or be `MetricPoints` of them."""
    radii_t = _check_radii(radii)
    d = _drains(drains)
    tr = _Trees(trees, d.crs)
    near = tr.around(d.xy, radii_t, nearest=True)
    rows = tr.rows_of(near.index)
    leaf = np.append(tr.all_codes, -1)[rows]  # row -1 (no tree) picks the trailing -1
    data: dict[str, object] = {
        "nearest_tree_m": near.distance,
        "nearest_tree_id": _tree_ids(tr.frame, rows),
        "nearest_leaf_class": pd.Categorical.from_codes(leaf, categories=list(LEAF_CLASSES)),
    }
    for j, r in enumerate(radii_t):
        data[f"trees_within_{r:g}m"] = near.counts[:, j]
    data[f"large_leaf_within_{max(radii_t):g}m"] = near.flagged
    data["leaf_load"] = near.load
    # copy=False: the columns are fresh arrays of ours; consolidating them into one block per
    # dtype would copy every column (~0.3 s at 5 million drains)
    return pd.DataFrame(data, index=d.frame.index, copy=False)


def cell_indicators(
    drains: Points,
    trees: Points,
    cell_size: float = 100.0,
    readings: gpd.GeoDataFrame | None = None,
    *,
    indicators: pd.DataFrame | None = None,
    idw_power: float = 2.0,
    idw_max_radius: float | None = None,
) -> gpd.GeoDataFrame:
    """Per square cell of `cell_size` metres holding drains or trees (cells aligned on
    multiples of the cell size in the drains' metric CRS, like national statistical grids).

    Columns: cell_x, cell_y (the cell's lower-left corner, metres), drain_count, tree_count,
    mean_leaf_load and share_drains_within_4m (over the cell's drains; NaN without drains),
    then, with `readings` (points with columns quantity and value, e.g. NO2 means or drain
    fill rates): mean_<quantity> per quantity, interpolated onto the cell centre by inverse
    distance (power `idw_power`, from readings within `idw_max_radius`, all when None) and
    coverage_m, the distance from the centre to the nearest contributing reading (per quantity
    as coverage_<quantity>_m too when there are several). Geometry: the cell squares, in the
    metric CRS. `indicators` (from `drain_tree_indicators` with the default radii, same
    drains) saves recomputing them. Drains and trees may be `MetricPoints`."""
    cs = float(cell_size)
    if not np.isfinite(cs) or cs <= 0:
        raise ValueError(f"cell_size must be a positive number of metres, got {cell_size!r}")
    d = _drains(drains)
    tr = _Trees(trees, d.crs)
    if indicators is not None:
        if len(indicators) != len(d.xy) or not indicators.index.equals(d.frame.index):
            raise ValueError("indicators must come from drain_tree_indicators on the same drains")
        load = indicators["leaf_load"].to_numpy(np.float64)
        near4 = indicators[f"trees_within_{_SHARE_RADIUS:g}m"].to_numpy() > 0
    else:
        near = tr.around(d.xy, (_SHARE_RADIUS, 10.0), nearest=False)
        load = near.load
        near4 = near.counts[:, 0] > 0
    per_drain = np.empty((len(d.xy), 2))
    per_drain[:, 0] = load
    per_drain[:, 1] = near4
    # the union of the cells with drains and the cells with trees
    cells = union_cells(d.xy, per_drain, tr.xy, cs)
    x0 = cells.ix * cs
    y0 = cells.iy * cs
    data: dict[str, object] = {
        "cell_x": x0,
        "cell_y": y0,
        "drain_count": cells.a_count,
        "tree_count": cells.b_count,
        "mean_leaf_load": np.ascontiguousarray(cells.a_mean[:, 0]),
        f"share_drains_within_{_SHARE_RADIUS:g}m": np.ascontiguousarray(cells.a_mean[:, 1]),
    }
    if readings is not None:
        data.update(_interpolated(readings, d.crs, x0 + cs / 2, y0 + cs / 2, idw_power, idw_max_radius))
    # the squares are most of this function's time at country scale (GEOS makes each one);
    # shapely.box measured faster than polygons() or from_ragged_array on the same corners
    squares = shapely.box(x0, y0, x0 + cs, y0 + cs)
    return gpd.GeoDataFrame(data, geometry=squares, crs=d.crs, copy=False)


def _interpolated(
    readings: gpd.GeoDataFrame,
    crs: pyproj.CRS,
    cx: np.ndarray,
    cy: np.ndarray,
    power: float,
    max_radius: float | None,
) -> dict[str, np.ndarray]:
    missing = {"quantity", "value"} - set(readings.columns)
    if missing:
        raise ValueError(f"readings need the columns quantity and value (missing: {sorted(missing)})")
    centres = np.empty((len(cx), 2))
    centres[:, 0] = cx
    centres[:, 1] = cy
    _, rxy = metric_xy_of(readings, crs)
    usable = np.isfinite(rxy).all(axis=1)
    quantity = readings["quantity"].astype(str).to_numpy()
    value = pd.to_numeric(readings["value"], errors="coerce").to_numpy(np.float64)
    out: dict[str, np.ndarray] = {}
    covers: dict[str, np.ndarray] = {}
    for q in sorted(set(quantity[usable])):
        mask = usable & (quantity == q)
        mean, cover = idw(np.ascontiguousarray(rxy[mask]), value[mask], centres, power, max_radius)
        out[f"mean_{q}"] = mean
        covers[q] = cover
    if not covers:
        out["coverage_m"] = np.full(len(cx), np.nan)
        return out
    out["coverage_m"] = np.fmin.reduce(np.vstack(list(covers.values())), axis=0)
    if len(covers) > 1:
        for q, cover in covers.items():
            out[f"coverage_{q}_m"] = cover
    return out
