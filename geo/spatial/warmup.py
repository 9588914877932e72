"""Compiling (or loading from numba's cache) every kernel before the first real call."""

from __future__ import annotations

import numpy as np

from geo.spatial.cells import grid_aggregate, union_cells
from geo.spatial.grid import GridIndex, nearest_distances
from geo.spatial.interpolate import idw
from geo.spatial.threads import threading_layer

__all__ = ["warm_up"]


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
    union_cells(pts, np.ones((3, 2)), qs, 5.0)
    idw(pts, w, qs)
    idw(pts, w, qs, max_radius=20.0)
    layer = threading_layer()
    if layer not in ("omp", "tbb"):
        raise RuntimeError(
            f"numba runs its parallel kernels on the '{layer}' threading layer, which is not "
            "thread-safe; import geo before anything else starts numba's threads, or set "
            "NUMBA_THREADING_LAYER=omp"
        )
