"""Typed wrappers over the numba kernels: numpy arrays in metres in, numpy arrays out.

Coordinates are (n, 2) float64, C-contiguous arrays in a metric CRS (see `geo.crs`); anything
else raises ValueError saying how to convert, so no silent copies happen on hot paths.
Distances are Euclidean, ``sqrt(dx*dx + dy*dy)``; "within r" means ``distance <= r``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numba
import numpy as np

from geo import _kernels

__all__ = [
    "CellAggregate",
    "GridIndex",
    "NearbySummary",
    "counts_within",
    "grid_aggregate",
    "idw",
    "leaf_load",
    "nearest_distances",
    "threading_layer",
    "warm_up",
]

# Targets per occupied grid cell the index aims at (measured: 1-3 are within a few percent).
_PER_CELL = 2.0
# Largest |coordinate / cell size| grid_aggregate accepts (cell indices stay exact in int64).
_MAX_CELL_INDEX = 2.0**52


# Below these sizes a kernel runs on the calling thread alone. A parallel region on this kind of
# machine (2 cores, shared) costs a thread wake-up, and when the other core is busy the region
# waits for its share of a time slice: for a few milliseconds of work, one thread is faster
# and far steadier. Above them the work is long enough for all threads to pay off.
PARALLEL_MIN_QUERIES = 100_000
PARALLEL_MIN_POINTS = 1_000_000


@contextmanager
def _threads(parallel: bool) -> Iterator[int]:
    """numba's thread count for the kernels called inside (thread-local, restored after)."""
    threads = numba.get_num_threads()
    if parallel or threads == 1:
        yield threads
        return
    numba.set_num_threads(1)
    try:
        yield 1
    finally:
        numba.set_num_threads(threads)


def _check_xy(name: str, xy: object) -> np.ndarray:
    if not isinstance(xy, np.ndarray):
        raise ValueError(f"{name} must be a numpy array of shape (n, 2), got {type(xy).__name__}")
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2), got {xy.shape}")
    if xy.dtype != np.float64 or not xy.flags.c_contiguous:
        raise ValueError(
            f"{name} must be C-contiguous float64 (got {xy.dtype}, "
            f"{'' if xy.flags.c_contiguous else 'not '}contiguous); "
            f"use np.ascontiguousarray({name}, dtype=np.float64)"
        )
    if not _kernels.all_finite(xy):
        raise ValueError(f"{name} holds non-finite coordinates (NaN or inf); drop those rows first")
    return xy


def _check_vector(name: str, values: object, n: int) -> np.ndarray:
    if not isinstance(values, np.ndarray):
        raise ValueError(f"{name} must be a numpy array of shape ({n},), got {type(values).__name__}")
    if values.ndim != 1 or values.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},), got {values.shape}")
    return np.ascontiguousarray(values, dtype=np.float64)


def _check_radius(name: str, value: float) -> float:
    r = float(value)
    if not math.isfinite(r) or r < 0.0:
        raise ValueError(f"{name} must be a finite distance >= 0 in metres, got {value!r}")
    return r


@dataclass(frozen=True, slots=True)
class NearbySummary:
    """What `GridIndex.nearby` finds around each query (arrays aligned with the queries)."""

    counts: np.ndarray  # (n, len(radii)) int64: targets with distance <= radii[j]
    load: np.ndarray  # (n,) float64: sum of weight * (1 - d / load_radius) over d <= load_radius
    flagged: np.ndarray  # (n,) int64: flagged targets with distance <= flag_radius
    distance: np.ndarray  # (n,) float64: to the nearest target (NaN without targets)
    index: np.ndarray  # (n,) int64: of the nearest target (-1 without targets)


class GridIndex:
    """A uniform-grid index over target points, built once and queried many times."""

    __slots__ = ("_grid", "size")

    def __init__(self, target_xy: np.ndarray) -> None:
        target_xy = _check_xy("target_xy", target_xy)
        self.size = int(target_xy.shape[0])
        with _threads(self.size >= PARALLEL_MIN_POINTS):
            self._grid = _kernels.build_grid(target_xy, _PER_CELL)

    @property
    def cell_size(self) -> float:
        return float(self._grid[2])

    def nearest(self, query_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(distance, index) of the nearest target per query; NaN and -1 without targets."""
        query_xy = _check_xy("query_xy", query_xy)
        with _threads(len(query_xy) >= PARALLEL_MIN_QUERIES) as threads:
            dist, idx = _kernels.nearest(query_xy, *self._grid, threads)
        return dist, idx

    def _in_grid_order(self, values: np.ndarray) -> np.ndarray:
        with _threads(self.size >= PARALLEL_MIN_POINTS):
            return _kernels.gather(values, self._grid[8])

    def nearby(
        self,
        query_xy: np.ndarray,
        radii: Sequence[float] | np.ndarray = (),
        *,
        weights: np.ndarray | None = None,
        load_radius: float = 0.0,
        flags: np.ndarray | None = None,
        flag_radius: float = 0.0,
        nearest: bool = True,
    ) -> NearbySummary:
        """Counts within each radius, weighted load, flagged counts and the nearest target, in
        one pass over the cells around each query (see `_kernels.within`)."""
        query_xy = _check_xy("query_xy", query_xy)
        r = np.array([_check_radius("radius", x) for x in radii], dtype=np.float64)
        if weights is None:
            sweight = np.empty(0)
        else:
            sweight = self._in_grid_order(_check_vector("weights", weights, self.size))
        if flags is None:
            sflag = np.empty(0, np.uint8)
        else:
            if not isinstance(flags, np.ndarray) or flags.shape != (self.size,):
                raise ValueError(f"flags must be a numpy array of shape ({self.size},)")
            sflag = np.ascontiguousarray(flags, dtype=np.uint8)[self._grid[8]]
        load_r = _check_radius("load_radius", load_radius)
        flag_r = _check_radius("flag_radius", flag_radius)
        with _threads(len(query_xy) >= PARALLEL_MIN_QUERIES) as threads:
            counts, load, flagged, dist, idx = _kernels.within(
                query_xy, *self._grid, r, sweight, load_r, sflag, flag_r, nearest, threads
            )
        return NearbySummary(counts, load, flagged, dist, idx)


def nearest_distances(query_xy: np.ndarray, target_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance to, and index of, the nearest target for every query point (exact).

    Returns (distances float64 (n,), indices int64 (n,)); with no targets, NaN and -1. Of
    several targets at the same distance any one may be returned."""
    query_xy = _check_xy("query_xy", query_xy)
    return GridIndex(target_xy).nearest(query_xy)


def counts_within(
    query_xy: np.ndarray, target_xy: np.ndarray, radii: Sequence[float] | np.ndarray
) -> np.ndarray:
    """Number of targets with distance <= r, per query and radius: int64 (n, len(radii))."""
    query_xy = _check_xy("query_xy", query_xy)
    return GridIndex(target_xy).nearby(query_xy, radii, nearest=False).counts


def leaf_load(query_xy: np.ndarray, target_xy: np.ndarray, weights: np.ndarray, radius: float) -> np.ndarray:
    """Σ over targets within `radius` of ``weights[t] * (1 - d / radius)`` per query.

    Linear decay: a target at the query counts its full weight, one at `radius` nothing; so
    a large-leaf tree (weight 1) 2 m from a drain adds 0.8 to its load at radius 10 m."""
    query_xy = _check_xy("query_xy", query_xy)
    index = GridIndex(target_xy)
    weights = _check_vector("weights", weights, index.size)
    return index.nearby(query_xy, weights=weights, load_radius=radius, nearest=False).load


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
    xy: np.ndarray,
    values: np.ndarray,
    cell_size: float,
    origin: tuple[float, float] | None = None,
) -> CellAggregate:
    """Count, sum, mean and max of point values per square cell of `cell_size` metres.

    `origin` defaults to (0, 0), so cells line up across datasets (as national grids do).
    `values` is (n,) or (n, k)."""
    xy = _check_xy("xy", xy)
    n = xy.shape[0]
    if not isinstance(values, np.ndarray) or values.ndim not in (1, 2) or values.shape[0] != n:
        raise ValueError(f"values must be a numpy array of shape ({n},) or ({n}, k)")
    cs = float(cell_size)
    if not math.isfinite(cs) or cs <= 0.0:
        raise ValueError(f"cell_size must be a positive number of metres, got {cell_size!r}")
    ox, oy = (0.0, 0.0) if origin is None else (float(origin[0]), float(origin[1]))
    if not (math.isfinite(ox) and math.isfinite(oy)):
        raise ValueError(f"origin must be finite, got {origin!r}")
    vals = np.ascontiguousarray(values.reshape(-1, 1) if values.ndim == 1 else values, dtype=np.float64)
    if n and max(np.abs(xy[:, 0] - ox).max(), np.abs(xy[:, 1] - oy).max()) / cs > _MAX_CELL_INDEX:
        raise ValueError("coordinates are too far from the origin for this cell size")
    with _threads(n >= PARALLEL_MIN_POINTS):
        ix, iy = _kernels.cell_index(xy, ox, oy, cs)
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
    if values.ndim == 1:
        total, mean, top = total[:, 0], mean[:, 0], top[:, 0]
    return CellAggregate(cix, ciy, count, total, mean, top, cs, (ox, oy))


def idw(
    points_xy: np.ndarray,
    values: np.ndarray,
    centres_xy: np.ndarray,
    power: float = 2.0,
    max_radius: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Inverse-distance interpolation of point values onto centres.

    value = Σ v_k d_k^-p / Σ d_k^-p over the points within `max_radius` (all points when None);
    a centre on top of points (d = 0) takes their mean. Points with a NaN value are ignored.
    Returns (values, distance to the nearest contributing point) -- the latter a coverage
    measure; both NaN where no point contributes."""
    points_xy = _check_xy("points_xy", points_xy)
    centres_xy = _check_xy("centres_xy", centres_xy)
    vals = _check_vector("values", values, points_xy.shape[0])
    p = float(power)
    if not math.isfinite(p) or p <= 0.0:
        raise ValueError(f"power must be a positive number, got {power!r}")
    keep = ~np.isnan(vals)
    if not keep.all():
        points_xy = np.ascontiguousarray(points_xy[keep])
        vals = vals[keep]
    if max_radius is None:
        with _threads(len(centres_xy) * (len(points_xy) + 100) >= 100 * PARALLEL_MIN_QUERIES):
            return _kernels.idw_all(centres_xy, points_xy, vals, p)
    radius = _check_radius("max_radius", max_radius)
    index = GridIndex(points_xy)
    ox, oy, cs, nx, ny, start, sx, sy, _ = index._grid
    svals = index._in_grid_order(vals)
    with _threads(len(centres_xy) >= PARALLEL_MIN_QUERIES) as threads:
        return _kernels.idw_radius(centres_xy, ox, oy, cs, nx, ny, start, sx, sy, svals, p, radius, threads)


def threading_layer() -> str:
    """The numba threading layer the kernels run on ('omp' or 'tbb': both thread-safe); the
    one configured until the first parallel kernel has run, then the one numba launched."""
    launched: Callable[[], str] = numba.threading_layer  # type: ignore[attr-defined]
    try:
        return str(launched())
    except ValueError:  # no parallel kernel has run yet in this process
        return _kernels.THREADING_LAYER


def warm_up() -> None:
    """Compile (first run) or load from numba's on-disk cache every kernel, on tiny inputs."""
    pts = np.array([[0.0, 0.0], [3.0, 4.0], [10.0, 0.0]])
    qs = np.array([[1.0, 1.0], [50.0, 50.0]])
    none = np.empty((0, 2))
    w = np.ones(3)
    nearest_distances(qs, pts)
    nearest_distances(qs, none)
    index = GridIndex(pts)
    index.nearby(qs, (4.0, 10.0), weights=w, load_radius=10.0, flags=np.ones(3, bool), flag_radius=10.0)
    grid_aggregate(pts, w, 5.0)
    grid_aggregate(np.array([[0.0, 0.0], [1e12, 1e12]]), np.ones(2), 1.0)
    idw(pts, w, qs)
    idw(pts, w, qs, max_radius=20.0)
    layer = threading_layer()
    if layer not in ("omp", "tbb"):
        raise RuntimeError(
            f"numba runs its parallel kernels on the '{layer}' threading layer, which is not "
            "thread-safe; import geo before anything else starts numba's threads, or set "
            "NUMBA_THREADING_LAYER=omp"
        )
