"""Numba kernels for the spatial indicators (private: use `geo.spatial`, which validates input).

Everything here works on plain numpy arrays: coordinates are float64 in metres, shape (n, 2),
C-contiguous; indices are int64. Nothing here knows about CRSs, GeoDataFrames or leaf classes.

The spatial index is a uniform grid in CSR layout:

- `ox, oy` the grid origin (the targets' minimum x and y), `cs` the cell size, `nx, ny` the
  number of columns and rows; cell (ix, iy) has id ``iy * nx + ix`` (row-major, x fastest),
  so the cells of one row segment are one contiguous run of points;
- `start` (nx * ny + 1 int64): the points of cell c are positions ``start[c]:start[c + 1]``;
- `sx, sy`: the targets' coordinates in cell order (copied, so a scan reads memory linearly),
  and within a cell sorted by x -- so a whole row of cells is sorted by x; `sidx`: the
  original target index of each position.

It is built by a counting sort by cell (O(n); in two levels for large grids, so no pass
scatters over the whole cell array) and a sort by x within each cell (insertion sort for the
usual few points). The cell size aims at a few targets per *occupied* cell (clustered data
gets smaller cells than its bounding box alone suggests), with the number of cells capped at
about four per target. Where that cap leaves dense clusters with many points per cell (a
country with cities in it), the x order keeps scans short: a row run is entered by binary
search and left as soon as x is out of reach, and the nearest search scans each row outward
from the query's x, stopping when dx alone (with the row's y gap) exceeds the best distance
found -- so it never visits empty cells one by one, however far away the nearest target is.

Distances are ``sqrt(dx * dx + dy * dy)`` in float64, computed the same way everywhere (and the
way scipy's cKDTree computes them), so "within r" means ``distance <= r`` for every kernel.

Why the searches are exact. They rest on three invariants of the index:

(I1) every target sits in the cell `_cell_of` gives it, exactly once;
(I2) the positions of one row of cells, ``start[row]:start[row + nx]``, are sorted by x --
     cells within a row are in x order, since ``int((x - ox) / cs)`` never decreases as x
     grows, and every cell's points are sorted by x (every cell: the two-level build once
     left the last cell of each run unsorted, see `_sort_cells_by_x`);
(I3) the cell edges ``ox + i * cs`` are within the slack below of the bounds `_cell_of`
     really uses (the division rounds).

Given those, the row scans may leave a sorted run as soon as ``dx * dx`` alone reaches the
best squared distance (I2: every point further along has a larger |dx|), and a window of
cells [x - r, x + r] found by binary search holds every point within r (I1, I2). The nearest
search visits rows outward from the query's row (clamped onto the grid for queries outside
it), up and down alternately; a row's y gap to the query, less the slack, is a lower bound on
the distance to each of its points (I3), so a direction stops at the first row whose gap is
at least the best distance found (gaps only grow further out): no unvisited row can hold a
closer point, and the answer is exact, also for queries far outside the target extent.
Within a row (one run sorted by x, I2) the scan goes outward from the query's x in both
directions and stops once ``dx * dx + gap * gap`` reaches the best squared distance: a lower
bound on every further point's computed d2, as float rounding is monotone. The slack is
1e-12 of the coordinate magnitude, far above the rounding of a cell edge (~1e-16 of it).
Tests: tests/geo/spatial/test_kernel_oracle.py checks (I1)-(I2) directly and the answers
against cKDTree over adversarial layouts and both build paths.

Thread safety: numba's default 'workqueue' threading layer aborts the process when two Python
threads run parallel kernels at once (as a web server does). On import this module selects a
thread-safe layer: NUMBA_THREADING_LAYER when it names 'omp' or 'tbb', else 'omp' (GNU OpenMP
ships with numba's wheels on Linux) or 'tbb' where OpenMP is unavailable. Kernels release the
GIL (nogil), so concurrent callers really run concurrently.

Queries are processed in blocks of nearby queries (a coarse counting sort by cell) handed to
the threads block-cyclically: neighbouring queries touch the same cells (cache locality) and
dense and sparse parts of the city are spread over all threads (load balance).
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
from numba import njit, prange

_SAFE_LAYERS = ("omp", "tbb")


def _configure_threading_layer() -> str:
    requested = os.environ.get("NUMBA_THREADING_LAYER", "").strip().lower()
    if requested in _SAFE_LAYERS:
        layer = requested
    else:
        try:
            importlib.import_module("numba.np.ufunc.omppool")
            layer = "omp"
        except ImportError:
            layer = "tbb"
    numba.config.THREADING_LAYER = layer  # type: ignore[attr-defined]
    return layer


THREADING_LAYER = _configure_threading_layer()

_F = TypeVar("_F", bound=Callable[..., Any])


def _jit(parallel: bool) -> Callable[[_F], _F]:
    """numba's njit, typed for mypy: parallel kernels, cached on disk, exact IEEE arithmetic."""
    return cast(Callable[[_F], _F], njit(parallel=parallel, cache=True, fastmath=False, nogil=True))


_par = _jit(parallel=True)
_seq = _jit(parallel=False)

# Queries per scheduling block, and the coarse bucket (in cells) queries are sorted by.
_BLOCK = 256
_BUCKET = 8
# Grids of up to _DIRECT_CELLS cells are sorted in one counting sort; larger ones in two
# levels, first into _BUCKETS runs of cells (see build_grid).
_DIRECT_CELLS = 1 << 18
_BUCKETS = 4096
# Slices of the points the first level of that sort counts and scatters in parallel.
_CHUNKS = 16
# Relative slack on lower bounds (see module docstring).
_SLACK = 1e-12


# ---------------------------------------------------------------------------------------------
# grid index
# ---------------------------------------------------------------------------------------------


@_seq
def all_finite(xy: np.ndarray) -> bool:
    """Whether every coordinate is finite (neither NaN nor ±inf)."""
    flat = xy.ravel()
    for i in range(flat.shape[0]):
        if not math.isfinite(flat[i]):
            return False
    return True


@_par
def finite_bounds(xy: np.ndarray) -> tuple[float, float, float, float, int]:
    """(min x, min y, max x, max y, rows) over the rows of `xy` whose two coordinates are both
    finite, and how many such rows there are (bounds inf / -inf when none)."""
    n = xy.shape[0]
    chunks = 64
    part = np.empty((chunks, 4))
    good = np.zeros(chunks, np.int64)
    for c in prange(chunks):
        x0 = np.inf
        y0 = np.inf
        x1 = -np.inf
        y1 = -np.inf
        k = 0
        for i in range(c * n // chunks, (c + 1) * n // chunks):
            x = xy[i, 0]
            y = xy[i, 1]
            if math.isfinite(x) and math.isfinite(y):
                k += 1
                x0 = min(x0, x)
                x1 = max(x1, x)
                y0 = min(y0, y)
                y1 = max(y1, y)
        part[c, 0] = x0
        part[c, 1] = y0
        part[c, 2] = x1
        part[c, 3] = y1
        good[c] = k
    return part[:, 0].min(), part[:, 1].min(), part[:, 2].max(), part[:, 3].max(), good.sum()


@_seq
def _cap_cell_size(cs: float, w: float, h: float, max_cells: float) -> float:
    while (w / cs + 1.0) * (h / cs + 1.0) > max_cells:
        cs *= 1.25
    return cs


@_par
def _occupied_cells(xy: np.ndarray, ox: float, oy: float, cs: float, nx: int, ny: int) -> int:
    n = xy.shape[0]
    occ = np.zeros(nx * ny, np.uint8)
    for i in prange(n):
        ix = min(int((xy[i, 0] - ox) / cs), nx - 1)
        iy = min(int((xy[i, 1] - oy) / cs), ny - 1)
        occ[iy * nx + ix] = 1  # benign race: every writer writes 1
    total = 0
    for c in prange(nx * ny):
        total += occ[c]
    return total


@_seq
def _cell_size(xy: np.ndarray, ox: float, oy: float, w: float, h: float, per_cell: float) -> float:
    """A cell size giving about `per_cell` points per occupied cell (at most ~4 cells per point)."""
    n = xy.shape[0]
    span = max(w, h)
    if n == 0 or span <= 0.0:
        return 1.0
    max_cells = 4.0 * n + 16.0
    if w > 0.0 and h > 0.0:
        cs = math.sqrt(w * h * per_cell / n)
    else:
        cs = span * per_cell / n
    cs = max(cs, span * 1e-9)
    cs = _cap_cell_size(cs, w, h, max_cells)
    nx = int(w / cs) + 1
    ny = int(h / cs) + 1
    occupied = _occupied_cells(xy, ox, oy, cs, nx, ny)
    mean = n / max(occupied, 1)
    if mean > per_cell:
        cs *= math.sqrt(per_cell / mean)
    return _cap_cell_size(max(cs, span * 1e-9), w, h, max_cells)


@_seq
def _cell_of(x: float, y: float, ox: float, oy: float, cs: float, nx: int, ny: int) -> int:
    return min(int((y - oy) / cs), ny - 1) * nx + min(int((x - ox) / cs), nx - 1)


@_par
def _cell_ids(xy: np.ndarray, ox: float, oy: float, cs: float, nx: int, ny: int) -> np.ndarray:
    n = xy.shape[0]
    ids = np.empty(n, np.int64)
    for i in prange(n):
        ids[i] = _cell_of(xy[i, 0], xy[i, 1], ox, oy, cs, nx, ny)
    return ids


@_seq
def build_grid(
    xy: np.ndarray, per_cell: float, direct_cells: int = _DIRECT_CELLS, buckets: int = _BUCKETS
) -> tuple[float, float, float, int, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The grid index of `xy` (finite coordinates): (ox, oy, cs, nx, ny, start, sx, sy, sidx).

    `direct_cells` and `buckets` choose between the one- and two-level sort (see below); the
    defaults are the fast choice, and tests lower them to run the two-level path on small
    inputs. Both paths build the same index."""
    n = xy.shape[0]
    if n == 0:
        return (
            0.0,
            0.0,
            1.0,
            1,
            1,
            np.zeros(2, np.int64),
            np.empty(0),
            np.empty(0),
            np.empty(0, np.int64),
        )
    ox, oy, x1, y1, _ = finite_bounds(xy)  # all finite here
    w = x1 - ox
    h = y1 - oy
    cs = _cell_size(xy, ox, oy, w, h, per_cell)
    nx = int(w / cs) + 1
    ny = int(h / cs) + 1
    ncell = nx * ny
    start = np.empty(ncell + 1, np.int64)
    sx = np.empty(n)
    sy = np.empty(n)
    sidx = np.empty(n, np.int64)
    if ncell <= direct_cells:
        # The cell array stays in cache: one counting sort, the cell of a point computed
        # where needed rather than stored, and the scatter walking backwards from each
        # cell's end (which leaves `start` holding the beginnings): few fresh pages to touch.
        start[:] = 0
        for i in range(n):
            start[_cell_of(xy[i, 0], xy[i, 1], ox, oy, cs, nx, ny) + 1] += 1
        for c in range(ncell):
            start[c + 1] += start[c]
        for i in range(n - 1, -1, -1):
            c = _cell_of(xy[i, 0], xy[i, 1], ox, oy, cs, nx, ny) + 1
            p = start[c] - 1
            start[c] = p
            sx[p] = xy[i, 0]
            sy[p] = xy[i, 1]
            sidx[p] = i
        # start[c + 1] now holds the beginning of cell c; shift it into place
        for c in range(ncell):
            start[c] = start[c + 1]
        start[ncell] = n
        _sort_cells_by_x(sx, sy, sidx, start, 0, ncell, n)
        return ox, oy, cs, nx, ny, start, sx, sy, sidx
    ids = _cell_ids(xy, ox, oy, cs, nx, ny)
    # Counting sort by cell in two levels, so that no pass scatters over the whole (large)
    # cell array: first into at most `buckets` contiguous runs of cells, carrying the
    # coordinates along (sequential reads, few write streams), then each run on its own,
    # within a slice of the arrays that stays in cache -- both levels in parallel.
    shift = 0
    while ((ncell - 1) >> shift) + 1 > buckets:
        shift += 1
    nb = ((ncell - 1) >> shift) + 1
    bstart, tid, tx, ty, ti = _into_buckets(xy, ids, shift, nb)
    _sort_runs(bstart, shift, ncell, tid, tx, ty, ti, start, sx, sy, sidx)
    start[ncell] = n
    return ox, oy, cs, nx, ny, start, sx, sy, sidx


@_par
def _into_buckets(
    xy: np.ndarray, ids: np.ndarray, shift: int, nb: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """First level of `build_grid`'s sort: the points by bucket ``ids >> shift``, stable --
    (bucket starts, cell id, x, y, original index) in bucket order.

    A counting sort in parallel over `_CHUNKS` contiguous slices of the points: each slice
    counts its buckets, and writes its points of a bucket after those of the slices before
    it, so the order (and the index built from it) is the same as one pass in point order."""
    n = xy.shape[0]
    count = np.zeros((_CHUNKS, nb), np.int64)
    for ch in prange(_CHUNKS):
        for i in range(ch * n // _CHUNKS, (ch + 1) * n // _CHUNKS):
            count[ch, ids[i] >> shift] += 1
    bstart = np.zeros(nb + 1, np.int64)
    at = 0
    for b in range(nb):
        bstart[b] = at
        for ch in range(_CHUNKS):
            k = count[ch, b]
            count[ch, b] = at  # now where slice ch writes its first point of bucket b
            at += k
    bstart[nb] = at
    tid = np.empty(n, np.int64)
    tx = np.empty(n)
    ty = np.empty(n)
    ti = np.empty(n, np.int64)
    for ch in prange(_CHUNKS):
        for i in range(ch * n // _CHUNKS, (ch + 1) * n // _CHUNKS):
            c = ids[i]
            b = c >> shift
            p = count[ch, b]
            count[ch, b] = p + 1
            tid[p] = c
            tx[p] = xy[i, 0]
            ty[p] = xy[i, 1]
            ti[p] = i
    return bstart, tid, tx, ty, ti


@_seq
def _sort_cells_by_x(
    sx: np.ndarray, sy: np.ndarray, sidx: np.ndarray, start: np.ndarray, c0: int, c1: int, end: int
) -> None:
    """Sort the points of each cell in [c0, c1) by x: insertion sort for the usual few.

    `end` is where cell c1 - 1 ends. It is passed rather than read from ``start[c1]``: in the
    two-level build that entry belongs to the next run, which another thread may not have
    written yet (reading it left the last cell of every run unsorted, and the scans' early
    exits then missed nearer points)."""
    for c in range(c0, c1):
        a = start[c]
        b = start[c + 1] if c + 1 < c1 else end
        if b - a > 32:
            _sort_many_by_x(sx, sy, sidx, a, b)
            continue
        for k in range(a + 1, b):
            x = sx[k]
            y = sy[k]
            i = sidx[k]
            j = k - 1
            while j >= a and sx[j] > x:
                sx[j + 1] = sx[j]
                sy[j + 1] = sy[j]
                sidx[j + 1] = sidx[j]
                j -= 1
            sx[j + 1] = x
            sy[j + 1] = y
            sidx[j + 1] = i


@_seq
def _sort_many_by_x(sx: np.ndarray, sy: np.ndarray, sidx: np.ndarray, a: int, b: int) -> None:
    order = np.argsort(sx[a:b]) + a
    tx = sx[order]
    ty = sy[order]
    ti = sidx[order]
    sx[a:b] = tx
    sy[a:b] = ty
    sidx[a:b] = ti


@_par
def _sort_runs(
    bstart: np.ndarray,
    shift: int,
    ncell: int,
    tid: np.ndarray,
    tx: np.ndarray,
    ty: np.ndarray,
    ti: np.ndarray,
    start: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
    sidx: np.ndarray,
) -> None:
    """Second level of `build_grid`'s sort: run b holds cells [b << shift, (b + 1) << shift)."""
    nb = bstart.shape[0] - 1
    for b in prange(nb):
        c0 = b << shift
        c1 = min((b + 1) << shift, ncell)
        a = bstart[b]
        e = bstart[b + 1]
        for c in range(c0, c1):
            start[c] = 0
        for j in range(a, e):
            start[tid[j]] += 1
        run = a
        for c in range(c0, c1):
            k = start[c]
            start[c] = run
            run += k
        fill = start[c0:c1].copy()
        for j in range(a, e):
            c = tid[j] - c0
            p = fill[c]
            fill[c] = p + 1
            sx[p] = tx[j]
            sy[p] = ty[j]
            sidx[p] = ti[j]
        _sort_cells_by_x(sx, sy, sidx, start, c0, c1, e)


@_par
def gather(values: np.ndarray, sidx: np.ndarray) -> np.ndarray:
    """values[sidx] for a float64 vector (per-target attributes into grid order)."""
    out = np.empty(sidx.shape[0])
    for k in prange(sidx.shape[0]):
        out[k] = values[sidx[k]]
    return out


# ---------------------------------------------------------------------------------------------
# query scheduling
# ---------------------------------------------------------------------------------------------


@_seq
def _clamp_cell(f: float, n: int) -> int:
    """floor(f) clamped to [0, n - 1], safe for huge or infinite f."""
    if f < 0.0:
        return 0
    if f >= n:
        return n - 1
    return int(f)


@_seq
def _query_order(qxy: np.ndarray, ox: float, oy: float, cs: float, nx: int, ny: int) -> np.ndarray:
    """Query positions sorted by coarse bucket of the grid (counting sort, O(nq + buckets))."""
    nq = qxy.shape[0]
    bx = nx // _BUCKET + 1
    by = ny // _BUCKET + 1
    keys = np.empty(nq, np.int64)
    for i in range(nq):
        ix = _clamp_cell((qxy[i, 0] - ox) / cs, nx) // _BUCKET
        iy = _clamp_cell((qxy[i, 1] - oy) / cs, ny) // _BUCKET
        keys[i] = iy * bx + ix
    nb = bx * by
    if nb > 4 * nq + 1024:
        return np.argsort(keys)
    start = np.zeros(nb + 1, np.int64)
    for i in range(nq):
        start[keys[i] + 1] += 1
    for b in range(nb):
        start[b + 1] += start[b]
    order = np.empty(nq, np.int64)
    for i in range(nq):
        k = keys[i]
        order[start[k]] = i
        start[k] += 1
    return order


@_par
def _rows_in_order(xy: np.ndarray, order: np.ndarray) -> np.ndarray:
    """xy[order]: the queries copied into processing order, so the kernels read them linearly."""
    out = np.empty((order.shape[0], 2))
    for p in prange(order.shape[0]):
        out[p, 0] = xy[order[p], 0]
        out[p, 1] = xy[order[p], 1]
    return out


@_seq
def _schedule(nq: int, threads: int) -> tuple[int, int, int]:
    """(number of blocks, blocks per thread, threads) for the block-cyclic prange loops.

    `threads` is numba.get_num_threads() of the caller (read in Python: inside a kernel it
    would make the kernel uncacheable)."""
    nb = (nq + _BLOCK - 1) // _BLOCK
    threads = max(threads, 1)
    per = (nb + threads - 1) // threads
    return nb, per, threads


# ---------------------------------------------------------------------------------------------
# nearest neighbour
# ---------------------------------------------------------------------------------------------


@_seq
def _first_at_least(sx: np.ndarray, a: int, b: int, x: float) -> int:
    """The first position in [a, b) with sx >= x (b if none); sx[a:b] is sorted."""
    if b - a <= 16:
        while a < b and sx[a] < x:
            a += 1
        return a
    while a < b:
        mid = (a + b) >> 1
        if sx[mid] < x:
            a = mid + 1
        else:
            b = mid
    return a


@_seq
def _row_gap(q: float, i: int, o: float, cs: float, slack: float) -> float:
    """Lower bound on |q - coordinate| over the points of row (or column) i, less the slack."""
    return max(o + i * cs - q, 0.0, q - (o + (i + 1) * cs)) - slack


@_seq
def _scan_row(
    qx: float,
    qy: float,
    g2: float,
    lo: int,
    mid: int,
    hi: int,
    sx: np.ndarray,
    sy: np.ndarray,
    best2: float,
    bk: int,
) -> tuple[float, int]:
    """Closest point to (qx, qy) in positions [lo, hi) of one row (sorted by x), if closer
    than best2; `mid` is the first position with x >= qx, `g2` a lower bound on dy * dy over
    the row.

    From qx outwards in both directions, each stopping once ``dx * dx + g2`` reaches the best
    squared distance so far: that bound never exceeds a point's computed d2 (rounding is
    monotone) and only grows further out, so nothing beyond can be closer."""
    for k in range(mid, hi):
        dx = sx[k] - qx
        dx2 = dx * dx
        if dx2 + g2 >= best2:
            break
        dy = sy[k] - qy
        d2 = dx2 + dy * dy
        if d2 < best2:
            best2 = d2
            bk = k
    for k in range(mid - 1, lo - 1, -1):
        dx = sx[k] - qx
        dx2 = dx * dx
        if dx2 + g2 >= best2:
            break
        dy = sy[k] - qy
        d2 = dx2 + dy * dy
        if d2 < best2:
            best2 = d2
            bk = k
    return best2, bk


@_seq
def _nearest_one(
    qx: float,
    qy: float,
    ox: float,
    oy: float,
    cs: float,
    nx: int,
    ny: int,
    start: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
    best2: float,
    bk: int,
) -> tuple[float, int]:
    """Exact nearest target to (qx, qy): (squared distance, grid position); (inf, -1) if none.

    `best2`/`bk` may seed the search with a candidate already known (or inf / -1). Rows are
    searched outward from the query's row, alternately up and down, each direction until
    the row's gap alone reaches the best distance (gaps only grow further out); within a row,
    which is one run sorted by x (I2), `_scan_row` looks only at the points in the x band
    that can still be closer -- so empty cells cost nothing, wherever the nearest target is.

    The scan starts at the first point of the row with x >= qx, found within the query's
    column alone: a point of an earlier column has a smaller cell index than qx, so x < qx,
    and one of a later column x > qx (the cell index ``int((x - ox) / cs)`` never decreases
    as x grows, and the query's column is computed the same way, clamped onto the grid)."""
    cx = _clamp_cell((qx - ox) / cs, nx)
    cy = _clamp_cell((qy - oy) / cs, ny)
    slack = _SLACK * (abs(ox) + abs(oy) + (nx + ny) * cs + abs(qx) + abs(qy))
    up = True
    down = True
    d = 0
    while up or down:
        for side in range(2):
            if side == 0:
                if not up:
                    continue
                iy = cy + d
            else:
                if not down or d == 0:
                    continue
                iy = cy - d
            if iy < 0 or iy >= ny:
                if side == 0:
                    up = False
                else:
                    down = False
                continue
            gap = max(_row_gap(qy, iy, oy, cs, slack), 0.0)
            g2 = gap * gap
            if g2 >= best2:
                # every point of this row, and of the rows beyond it, is at least this far
                if side == 0:
                    up = False
                else:
                    down = False
                continue
            row = iy * nx
            mid = _first_at_least(sx, start[row + cx], start[row + cx + 1], qx)
            best2, bk = _scan_row(qx, qy, g2, start[row], mid, start[row + nx], sx, sy, best2, bk)
        d += 1
    return best2, bk


@_par
def nearest(
    qxy: np.ndarray,
    ox: float,
    oy: float,
    cs: float,
    nx: int,
    ny: int,
    start: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
    sidx: np.ndarray,
    threads: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance to and index of the nearest target per query (NaN and -1 without targets)."""
    nq = qxy.shape[0]
    dist = np.full(nq, np.nan)
    idx = np.full(nq, -1, np.int64)
    if sidx.shape[0] == 0 or nq == 0:
        return dist, idx
    order = _query_order(qxy, ox, oy, cs, nx, ny)
    qs = _rows_in_order(qxy, order)
    nb, per, threads = _schedule(nq, threads)
    for j in prange(per * threads):
        b = (j % per) * threads + j // per
        if b >= nb:
            continue
        for p in range(b * _BLOCK, min((b + 1) * _BLOCK, nq)):
            i = order[p]
            best2, bk = _nearest_one(qs[p, 0], qs[p, 1], ox, oy, cs, nx, ny, start, sx, sy, np.inf, -1)
            if bk >= 0:
                dist[i] = math.sqrt(best2)
                idx[i] = sidx[bk]
    return dist, idx


# ---------------------------------------------------------------------------------------------
# within a radius: counts, weighted linear-decay load, flagged counts, nearest (fused)
# ---------------------------------------------------------------------------------------------


@_par
def within(
    qxy: np.ndarray,
    ox: float,
    oy: float,
    cs: float,
    nx: int,
    ny: int,
    start: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
    sidx: np.ndarray,
    radii: np.ndarray,
    sweight: np.ndarray,
    load_radius: float,
    sflag: np.ndarray,
    flag_radius: float,
    want_nearest: bool,
    threads: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Everything about the targets around each query, in one pass over the cells within reach.

    Returns (counts, load, flagged, dist, idx):

    - counts (nq, len(radii)) int64: targets with distance <= radii[j];
    - load (nq,): sum over targets with distance <= load_radius of
      ``sweight[k] * (1 - distance / load_radius)`` -- a linear decay from the full weight at
      the query to 0 at load_radius (all zeros when load_radius <= 0; `sweight` is in grid
      order, see `gather`; pass an empty array when unused);
    - flagged (nq,) int64: targets with sflag[k] != 0 and distance <= flag_radius (`sflag` in
      grid order, empty when unused);
    - dist, idx: the nearest target (NaN / -1 without targets), exact: when nothing lies within
      reach the row search of `nearest` continues from there; NaN / -1 everywhere when
      `want_nearest` is false.
    """
    nq = qxy.shape[0]
    nr = radii.shape[0]
    counts = np.zeros((nq, nr), np.int64)
    load = np.zeros(nq)
    flagged = np.zeros(nq, np.int64)
    dist = np.full(nq, np.nan)
    idx = np.full(nq, -1, np.int64)
    if sidx.shape[0] == 0 or nq == 0:
        return counts, load, flagged, dist, idx
    use_load = sweight.shape[0] > 0 and load_radius > 0.0
    use_flag = sflag.shape[0] > 0
    reach = 0.0
    for j in range(nr):
        reach = max(reach, radii[j])
    if use_load:
        reach = max(reach, load_radius)
    if use_flag:
        reach = max(reach, flag_radius)
    # d2 > reach2 implies sqrt(d2) > reach: the 1e-12 margin dwarfs the rounding of both sides
    reach2 = reach * reach * (1.0 + 1e-12)
    order = _query_order(qxy, ox, oy, cs, nx, ny)
    qs = _rows_in_order(qxy, order)
    nb, per, threads = _schedule(nq, threads)
    for j in prange(per * threads):
        b = (j % per) * threads + j // per
        if b >= nb:
            continue
        for p in range(b * _BLOCK, min((b + 1) * _BLOCK, nq)):
            i = order[p]
            qx = qs[p, 0]
            qy = qs[p, 1]
            slack = _SLACK * (abs(ox) + abs(oy) + (nx + ny) * cs + abs(qx) + abs(qy))
            ext = reach * (1.0 + 1e-12) + slack
            best2 = np.inf
            bk = -1
            ixa = _clamp_cell((qx - ext - ox) / cs, nx)
            ixb = _clamp_cell((qx + ext - ox) / cs, nx)
            iya = _clamp_cell((qy - ext - oy) / cs, ny)
            iyb = _clamp_cell((qy + ext - oy) / cs, ny)
            # the window is empty when the query lies beyond reach of the grid on some side
            inside = (
                qx + ext >= ox and qx - ext <= ox + nx * cs and qy + ext >= oy and qy - ext <= oy + ny * cs
            )
            s_load = 0.0
            n_flag = 0
            if inside:
                xhi = qx + ext
                for iy in range(iya, iyb + 1):
                    row = iy * nx
                    b = start[row + ixb + 1]
                    for k in range(_first_at_least(sx, start[row + ixa], b, qx - ext), b):
                        if sx[k] > xhi:
                            break  # a row is sorted by x
                        dx = sx[k] - qx
                        dy = sy[k] - qy
                        d2 = dx * dx + dy * dy
                        if d2 < best2:
                            best2 = d2
                            bk = k
                        if d2 > reach2:
                            continue  # surely beyond reach: no square root for most of the window
                        d = math.sqrt(d2)
                        if d > reach:
                            continue
                        for r in range(nr):
                            if d <= radii[r]:
                                counts[i, r] += 1
                        if use_load and d <= load_radius:
                            s_load += sweight[k] * (1.0 - d / load_radius)
                        if use_flag and d <= flag_radius and sflag[k] != 0:
                            n_flag += 1
            load[i] = s_load
            flagged[i] = n_flag
            if want_nearest:
                if bk < 0 or math.sqrt(best2) > reach:
                    # not certain within the window: exact row search, seeded with what we have
                    best2, bk = _nearest_one(qx, qy, ox, oy, cs, nx, ny, start, sx, sy, best2, bk)
                if bk >= 0:
                    dist[i] = math.sqrt(best2)
                    idx[i] = sidx[bk]
    return counts, load, flagged, dist, idx


# ---------------------------------------------------------------------------------------------
# aggregation into grid cells
# ---------------------------------------------------------------------------------------------


@_par
def cell_index(xy: np.ndarray, ox: float, oy: float, cs: float) -> tuple[np.ndarray, np.ndarray]:
    """floor((x - ox) / cs), floor((y - oy) / cs) per point (a cell is [k*cs, (k+1)*cs) from o)."""
    n = xy.shape[0]
    ix = np.empty(n, np.int64)
    iy = np.empty(n, np.int64)
    for i in prange(n):
        ix[i] = math.floor((xy[i, 0] - ox) / cs)
        iy[i] = math.floor((xy[i, 1] - oy) / cs)
    return ix, iy


@_seq
def _accumulate(
    slot: np.ndarray, values: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n, k = values.shape
    count = np.zeros(m, np.int64)
    valid = np.zeros((m, k), np.int64)
    total = np.zeros((m, k))
    top = np.full((m, k), -np.inf)
    for i in range(n):
        c = slot[i]
        count[c] += 1
        for j in range(k):
            v = values[i, j]
            if not math.isnan(v):
                valid[c, j] += 1
                total[c, j] += v
                if v > top[c, j]:
                    top[c, j] = v
    for c in range(m):
        for j in range(k):
            if valid[c, j] == 0:
                top[c, j] = np.nan
    return count, valid, total, top


@_seq
def aggregate_dense(
    ix: np.ndarray, iy: np.ndarray, values: np.ndarray, ix0: int, iy0: int, w: int, h: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per occupied cell (ordered by iy, then ix): ix, iy, count, non-NaN count, sum, max.

    Cell indices must lie in [ix0, ix0 + w) x [iy0, iy0 + h); NaN values are skipped (sum 0,
    max NaN over none). `values` is (n, k); k may be 0."""
    n = ix.shape[0]
    lin = np.empty(n, np.int64)
    seen = np.zeros(w * h, np.int64)
    for i in range(n):
        c = (iy[i] - iy0) * w + (ix[i] - ix0)
        lin[i] = c
        seen[c] = 1
    m = 0
    for c in range(w * h):
        if seen[c] != 0:
            seen[c] = m
            m += 1
        else:
            seen[c] = -1
    cix = np.empty(m, np.int64)
    ciy = np.empty(m, np.int64)
    for c in range(w * h):
        s = seen[c]
        if s >= 0:
            cix[s] = ix0 + c % w
            ciy[s] = iy0 + c // w
    slot = np.empty(n, np.int64)
    for i in range(n):
        slot[i] = seen[lin[i]]
    count, valid, total, top = _accumulate(slot, values, m)
    return cix, ciy, count, valid, total, top


@_seq
def union_cells_dense(
    axy: np.ndarray, avalues: np.ndarray, bxy: np.ndarray, cs: float, ix0: int, iy0: int, w: int, h: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cells of `cs` (origin 0, 0) holding points of a or of b, ordered by (iy, ix), in one
    pass over each point set: (ix, iy, a count, b count, mean of `avalues` (n_a, k) over the
    cell's a points, NaN without any).

    Every cell index ``floor(x / cs)`` must lie in [ix0, ix0 + w) x [iy0, iy0 + h), as the
    finite bounds of both sets give. Values are summed in point order and divided by the
    count, as `_accumulate` and `grid_aggregate` do (so the means are the same to the bit).
    A cell's counts and sums share one row of `acc` (counts as floats, exact below 2**53): a
    point costs one cache miss, not one per array, in a grid of millions of cells."""
    k = avalues.shape[1]
    acc = np.zeros((w * h, 2 + k))
    for i in range(axy.shape[0]):
        c = (math.floor(axy[i, 1] / cs) - iy0) * w + (math.floor(axy[i, 0] / cs) - ix0)
        acc[c, 0] += 1.0
        for j in range(k):
            acc[c, 2 + j] += avalues[i, j]
    for i in range(bxy.shape[0]):
        acc[(math.floor(bxy[i, 1] / cs) - iy0) * w + (math.floor(bxy[i, 0] / cs) - ix0), 1] += 1.0
    m = 0
    for c in range(w * h):
        if acc[c, 0] != 0.0 or acc[c, 1] != 0.0:
            m += 1
    cix = np.empty(m, np.int64)
    ciy = np.empty(m, np.int64)
    ca = np.empty(m, np.int64)
    cb = np.empty(m, np.int64)
    mean = np.empty((m, k))
    m = 0
    for c in range(w * h):
        if acc[c, 0] != 0.0 or acc[c, 1] != 0.0:
            cix[m] = ix0 + c % w
            ciy[m] = iy0 + c // w
            na = int(acc[c, 0])
            ca[m] = na
            cb[m] = int(acc[c, 1])
            for j in range(k):
                mean[m, j] = acc[c, 2 + j] / na if na > 0 else np.nan
            m += 1
    return cix, ciy, ca, cb, mean


@_seq
def aggregate_sorted(
    ix: np.ndarray, iy: np.ndarray, values: np.ndarray, order: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """As `aggregate_dense`, for any extent: `order` sorts the points by (iy, ix)."""
    n = ix.shape[0]
    slot = np.empty(n, np.int64)
    m = 0
    for p in range(n):
        i = order[p]
        if p > 0:
            h = order[p - 1]
            if ix[i] != ix[h] or iy[i] != iy[h]:
                m += 1
        slot[i] = m
    if n > 0:
        m += 1
    cix = np.empty(m, np.int64)
    ciy = np.empty(m, np.int64)
    for i in range(n):
        cix[slot[i]] = ix[i]
        ciy[slot[i]] = iy[i]
    count, valid, total, top = _accumulate(slot, values, m)
    return cix, ciy, count, valid, total, top


# ---------------------------------------------------------------------------------------------
# inverse-distance interpolation
# ---------------------------------------------------------------------------------------------


@_seq
def _idw_finish(wsum: float, wvsum: float, hits: int, hitsum: float, dmin2: float) -> tuple[float, float]:
    if hits > 0:
        return hitsum / hits, 0.0
    if wsum > 0.0:
        return wvsum / wsum, math.sqrt(dmin2)
    return np.nan, np.nan


@_par
def idw_all(
    cxy: np.ndarray, pxy: np.ndarray, values: np.ndarray, power: float
) -> tuple[np.ndarray, np.ndarray]:
    """IDW of every point onto every centre: (value, distance to the nearest point).

    value = sum(v_k / d_k**p) / sum(1 / d_k**p); a centre on top of points (d = 0) takes
    their mean. NaN / NaN without points."""
    nc = cxy.shape[0]
    m = pxy.shape[0]
    out = np.full(nc, np.nan)
    cover = np.full(nc, np.nan)
    for i in prange(nc):
        qx = cxy[i, 0]
        qy = cxy[i, 1]
        wsum = 0.0
        wvsum = 0.0
        hits = 0
        hitsum = 0.0
        dmin2 = np.inf
        for k in range(m):
            dx = pxy[k, 0] - qx
            dy = pxy[k, 1] - qy
            d2 = dx * dx + dy * dy
            dmin2 = min(dmin2, d2)
            if d2 == 0.0:
                hits += 1
                hitsum += values[k]
            else:
                wk = math.sqrt(d2) ** -power
                wsum += wk
                wvsum += wk * values[k]
        out[i], cover[i] = _idw_finish(wsum, wvsum, hits, hitsum, dmin2)
    return out, cover


@_par
def idw_radius(
    cxy: np.ndarray,
    ox: float,
    oy: float,
    cs: float,
    nx: int,
    ny: int,
    start: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
    svalues: np.ndarray,
    power: float,
    radius: float,
    threads: int,
) -> tuple[np.ndarray, np.ndarray]:
    """As `idw_all`, from the points within `radius` (distance <= radius) only, using the grid
    of the points (`svalues` in grid order). NaN / NaN where no point is within the radius."""
    nc = cxy.shape[0]
    out = np.full(nc, np.nan)
    cover = np.full(nc, np.nan)
    if sx.shape[0] == 0 or nc == 0:
        return out, cover
    order = _query_order(cxy, ox, oy, cs, nx, ny)
    qs = _rows_in_order(cxy, order)
    nb, per, threads = _schedule(nc, threads)
    for j in prange(per * threads):
        b = (j % per) * threads + j // per
        if b >= nb:
            continue
        for p in range(b * _BLOCK, min((b + 1) * _BLOCK, nc)):
            i = order[p]
            qx = qs[p, 0]
            qy = qs[p, 1]
            slack = _SLACK * (abs(ox) + abs(oy) + (nx + ny) * cs + abs(qx) + abs(qy))
            ext = radius * (1.0 + 1e-12) + slack
            if not (
                qx + ext >= ox and qx - ext <= ox + nx * cs and qy + ext >= oy and qy - ext <= oy + ny * cs
            ):
                continue
            ixa = _clamp_cell((qx - ext - ox) / cs, nx)
            ixb = _clamp_cell((qx + ext - ox) / cs, nx)
            iya = _clamp_cell((qy - ext - oy) / cs, ny)
            iyb = _clamp_cell((qy + ext - oy) / cs, ny)
            wsum = 0.0
            wvsum = 0.0
            hits = 0
            hitsum = 0.0
            dmin2 = np.inf
            xhi = qx + ext
            for iy in range(iya, iyb + 1):
                row = iy * nx
                b = start[row + ixb + 1]
                for k in range(_first_at_least(sx, start[row + ixa], b, qx - ext), b):
                    if sx[k] > xhi:
                        break  # a row is sorted by x
                    dx = sx[k] - qx
                    dy = sy[k] - qy
                    d2 = dx * dx + dy * dy
                    d = math.sqrt(d2)
                    if d > radius:
                        continue
                    dmin2 = min(dmin2, d2)
                    if d2 == 0.0:
                        hits += 1
                        hitsum += svalues[k]
                    else:
                        wk = d**-power
                        wsum += wk
                        wvsum += wk * svalues[k]
            out[i], cover[i] = _idw_finish(wsum, wvsum, hits, hitsum, dmin2)
    return out, cover


@_seq
def merge_cells(
    aix: np.ndarray, aiy: np.ndarray, bix: np.ndarray, biy: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The union of two cell lists, each sorted by (iy, ix) without repeats (as the aggregates
    are): (ix, iy, row of each a cell in the union, row of each b cell in the union)."""
    na = aix.shape[0]
    nb = bix.shape[0]
    ix = np.empty(na + nb, np.int64)
    iy = np.empty(na + nb, np.int64)
    at_a = np.empty(na, np.int64)
    at_b = np.empty(nb, np.int64)
    i = 0
    j = 0
    m = 0
    while i < na or j < nb:
        if j >= nb or (i < na and (aiy[i] < biy[j] or (aiy[i] == biy[j] and aix[i] < bix[j]))):
            ix[m] = aix[i]
            iy[m] = aiy[i]
            at_a[i] = m
            i += 1
        elif i >= na or aiy[i] != biy[j] or aix[i] != bix[j]:
            ix[m] = bix[j]
            iy[m] = biy[j]
            at_b[j] = m
            j += 1
        else:
            ix[m] = aix[i]
            iy[m] = aiy[i]
            at_a[i] = m
            at_b[j] = m
            i += 1
            j += 1
        m += 1
    return ix[:m].copy(), iy[:m].copy(), at_a, at_b
