"""Inverse-distance interpolation of point values onto centres (e.g. cell centres)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from geo.spatial import _kernels
from geo.spatial.arrays import as_radius, as_values, as_xy
from geo.spatial.grid import GridIndex
from geo.spatial.threads import kernel_threads, many_queries

__all__ = ["idw"]


def idw(
    points_xy: npt.ArrayLike,
    values: npt.ArrayLike,
    centres_xy: npt.ArrayLike,
    power: float = 2.0,
    max_radius: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Inverse-distance interpolation of point values onto centres.

    value = Σ v_k d_k^-p / Σ d_k^-p over the points within `max_radius` (all points when None);
    a centre on top of points (d = 0) takes their mean. Points with a NaN value are ignored.
    Returns (values, distance to the nearest contributing point) -- the latter a coverage
    measure; both NaN where no point contributes."""
    points = as_xy("points_xy", points_xy)
    centres = as_xy("centres_xy", centres_xy)
    vals = as_values("values", values, points.shape[0])
    p = float(power)
    if not math.isfinite(p) or p <= 0.0:
        raise ValueError(f"power must be a positive number, got {power!r}")
    keep = ~np.isnan(vals)
    if not keep.all():
        points = np.ascontiguousarray(points[keep])
        vals = vals[keep]
    if max_radius is None:
        # every centre against every point: 100 pairs count as one grid query
        with kernel_threads(many_queries(len(centres) * (len(points) + 100) // 100)):
            return _kernels.idw_all(centres, points, vals, p)
    radius = as_radius("max_radius", max_radius)
    index = GridIndex(points)
    ox, oy, cs, nx, ny, start, sx, sy, _ = index._grid
    svals = index._in_grid_order(vals)
    with kernel_threads(many_queries(len(centres))) as threads:
        return _kernels.idw_radius(centres, ox, oy, cs, nx, ny, start, sx, sy, svals, p, radius, threads)
