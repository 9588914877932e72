"""Point values aggregated into square cells: count, sum, mean and max per occupied cell; the
cells two point sets occupy together, with both counts."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geo.spatial import _kernels
from geo.spatial.arrays import as_float64, as_xy
from geo.spatial.threads import kernel_threads, many_points

__all__ = ["CellAggregate", "CellUnion", "grid_aggregate", "union_cells"]

# Largest |coordinate / cell size| grid_aggregate accepts (cell indices stay exact in int64).
_MAX_CELL_INDEX = 2.0**52


@dataclass(frozen=True, slots=True)
class CellAggregate:
    """Point values aggregated into square cells; one row per occupied cell, ordered by
    (iy, ix). Cell (ix, iy) covers [ox + ix*cs, ox + (ix+1)*cs) x [oy + iy*cs, oy + (iy+1)*cs).

    NaN values are skipped: `sum` is 0, `mean` and `max` NaN in a cell with no valid value
    (pandas groupby semantics); `count` counts every point. With 2-D values the value columns
    are 2-D too (cells x value columns)."""

    ix: np.ndarray
    iy: np.ndarray
    count: np.ndarray
    sum: np.ndarray
    mean: np.ndarray
    max: np.ndarray
    cell_size: float
    origin: tuple[float, float]


def grid_aggregate(
    xy: npt.ArrayLike,
    values: npt.ArrayLike,
    cell_size: float,
    origin: tuple[float, float] | None = None,
) -> CellAggregate:
    """Count, sum, mean and max of point values per square cell of `cell_size` metres.

    `origin` defaults to (0, 0), so cells line up across datasets (as national grids do).
    `values` is (n,) or (n, k)."""
    points = as_xy("xy", xy)
    n = points.shape[0]
    given = as_float64("values", values, f"({n},) or ({n}, k)")
    if given.ndim not in (1, 2) or given.shape[0] != n:
        raise ValueError(f"values must be an array of shape ({n},) or ({n}, k), got {given.shape}")
    cs = float(cell_size)
    if not math.isfinite(cs) or cs <= 0.0:
        raise ValueError(f"cell_size must be a positive number of metres, got {cell_size!r}")
    ox, oy = (0.0, 0.0) if origin is None else (float(origin[0]), float(origin[1]))
    if not (math.isfinite(ox) and math.isfinite(oy)):
        raise ValueError(f"origin must be finite, got {origin!r}")
    vals = np.ascontiguousarray(given.reshape(-1, 1) if given.ndim == 1 else given)
    if n and max(np.abs(points[:, 0] - ox).max(), np.abs(points[:, 1] - oy).max()) / cs > _MAX_CELL_INDEX:
        raise ValueError("coordinates are too far from the origin for this cell size")
    with kernel_threads(many_points(n)):
        ix, iy = _kernels.cell_index(points, ox, oy, cs)
    if n == 0:
        cix, ciy = np.empty(0, np.int64), np.empty(0, np.int64)
        count = np.empty(0, np.int64)
        valid = np.empty((0, vals.shape[1]), np.int64)
        total = np.empty((0, vals.shape[1]))
        top = np.empty((0, vals.shape[1]))
    else:
        ix0, ix1, iy0, iy1 = int(ix.min()), int(ix.max()), int(iy.min()), int(iy.max())
        w, h = ix1 - ix0 + 1, iy1 - iy0 + 1
        if w * h <= 4 * n + 1_000_000:
            cix, ciy, count, valid, total, top = _kernels.aggregate_dense(ix, iy, vals, ix0, iy0, w, h)
        else:
            order = np.lexsort((ix, iy))
            cix, ciy, count, valid, total, top = _kernels.aggregate_sorted(ix, iy, vals, order)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid > 0, total / np.maximum(valid, 1), np.nan)
    if given.ndim == 1:
        total, mean, top = total[:, 0], mean[:, 0], top[:, 0]
    return CellAggregate(cix, ciy, count, total, mean, top, cs, (ox, oy))


@dataclass(frozen=True, slots=True)
class CellUnion:
    """The cells of `cell_size` (aligned on multiples of it) holding points of a or of b,
    ordered by (iy, ix): the counts of both and the mean of a's values (NaN without a points)."""

    ix: np.ndarray
    iy: np.ndarray
    a_count: np.ndarray
    b_count: np.ndarray
    a_mean: np.ndarray  # (cells, k)
    cell_size: float


def union_cells(
    a_xy: npt.ArrayLike, a_values: npt.ArrayLike, b_xy: npt.ArrayLike, cell_size: float
) -> CellUnion:
    """Per cell holding a or b points: both counts, and the mean of `a_values` ((n_a, k); NaN
    values skipped) -- what `grid_aggregate` of each and a merge give, in one pass over each set
    where the cells of their joint extent fit in memory."""
    a = as_xy("a_xy", a_xy)
    b = as_xy("b_xy", b_xy)
    vals = as_float64("a_values", a_values, f"({len(a)}, k)")
    if vals.ndim != 2 or vals.shape[0] != len(a):
        raise ValueError(f"a_values must have shape ({len(a)}, k), got {vals.shape}")
    cs = float(cell_size)
    if not math.isfinite(cs) or cs <= 0.0:
        raise ValueError(f"cell_size must be a positive number of metres, got {cell_size!r}")
    lo_x, lo_y, hi_x, hi_y = np.inf, np.inf, -np.inf, -np.inf
    for xy in (a, b):
        with kernel_threads(many_points(len(xy))):
            x0, y0, x1, y1, _ = _kernels.finite_bounds(xy)
        lo_x, lo_y, hi_x, hi_y = min(lo_x, x0), min(lo_y, y0), max(hi_x, x1), max(hi_y, y1)
    n = len(a) + len(b)
    # the one-pass kernel sums every value; NaN values (skipped by grid_aggregate) take the other way
    summable = not np.isnan(vals).any()
    if n and summable and max(abs(lo_x), abs(lo_y), abs(hi_x), abs(hi_y)) / cs <= _MAX_CELL_INDEX:
        ix0, iy0 = math.floor(lo_x / cs), math.floor(lo_y / cs)
        w, h = math.floor(hi_x / cs) - ix0 + 1, math.floor(hi_y / cs) - iy0 + 1
        if w * h <= 4 * n + 1_000_000:  # the dense cell arrays cost no more than the points
            ix, iy, ca, cb, mean = _kernels.union_cells_dense(a, vals, b, cs, ix0, iy0, w, h)
            return CellUnion(ix, iy, ca, cb, mean, cs)
    return _union_sparse(a, vals, b, cs)


def _union_sparse(a: np.ndarray, vals: np.ndarray, b: np.ndarray, cs: float) -> CellUnion:
    acell = grid_aggregate(a, vals, cs)
    bcell = grid_aggregate(b, np.empty((len(b), 0)), cs)
    ix, iy, at_a, at_b = _kernels.merge_cells(acell.ix, acell.iy, bcell.ix, bcell.iy)
    ca = np.zeros(len(ix), np.int64)
    ca[at_a] = acell.count
    cb = np.zeros(len(ix), np.int64)
    cb[at_b] = bcell.count
    mean = np.full((len(ix), vals.shape[1]), np.nan)
    mean[at_a] = acell.mean
    return CellUnion(ix, iy, ca, cb, mean, cs)
